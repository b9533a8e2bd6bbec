"""The daily retrain of the appeal classifier, enqueued by the scheduler and run by ``db_worker``."""

import logging

from django.conf import settings
from django_tasks import task

from minsheng.core.heartbeat import beat

log = logging.getLogger(__name__)


@task()
def retrain() -> dict:
    """Retrain from the labels people gave since the last model (one count query when too few).

    Uses the base CSV the installed model was trained with when its header names one still present,
    so a model first trained on history keeps that history.
    """
    from minsheng.classification import retrain as retraining

    beat("worker", "classifier_retrain")
    outcome = retraining.retrain(
        base=retraining.base_from_current,
        min_labels=settings.CLASSIFIER_RETRAIN_MIN_LABELS,
        say=log.info,
    )
    (log.warning if outcome.status == "kept" else log.info)("classifier retrain: %s", outcome.message)
    return {"status": outcome.status, "message": outcome.message, **outcome.figures}
