"""Appeal classification (诉求自动分类): keyword rules for a new installation, a trained model after.

* :mod:`.rules` — :class:`~.rules.RuleClassifier`, keyword lists per category code;
* :mod:`.model` — the statistical classifier, :func:`~.model.train_classifier` and
  :func:`~.model.retrain_from_labels`;
* :mod:`.modelfile` — one self-contained model file (:func:`~.modelfile.save_model`,
  :func:`~.modelfile.load_model`, :class:`~.modelfile.ModelVersionError`);
* ``minsheng classify train|predict`` — the command line.

Both classifiers implement :class:`Classifier`. The heavy modules (scikit-learn, jieba) are not
imported here, so that loading the app costs nothing until a classifier is used.
"""

from .base import Classifier, Prediction

__all__ = ["Classifier", "Prediction"]
