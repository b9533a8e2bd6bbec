"""Which category an appeal belongs to: the trained model when the platform has one, keyword rules
before that (cold start). Both answer a ranked list of (category code, confidence)."""

import logging
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)


class Categoriser:
    def __init__(self, model=None, rules=None):
        self.model = model
        self.rules = rules

    def rank(self, text: str) -> list[tuple[str, float]]:
        ranked: list[tuple[str, float]] = []
        if self.model is not None:
            proba = self.model.predict_proba([text])[0]
            order = proba.argsort()[::-1][:3]
            ranked = [(self.model.labels[i], round(float(proba[i]), 4)) for i in order]
        if self.rules is not None:
            hit = self.rules.classify(text)
            if hit is not None:
                code, confidence = hit
                # A keyword rule is decisive only where the model is unsure or absent.
                if not ranked or ranked[0][1] < confidence:
                    ranked = [(code, confidence)] + [(c, s) for c, s in ranked if c != code]
        return ranked


_categoriser: Categoriser | None = None


def categoriser() -> Categoriser:
    global _categoriser
    if _categoriser is None:
        model = None
        path = getattr(settings, "CLASSIFIER_MODEL", "")
        if path and Path(path).exists():
            try:
                from minsheng.classification.modelfile import load_model

                model = load_model(path)
            except Exception as exc:  # a refused or broken model file must not stop intake
                log.error("classifier model %s not used: %s", path, exc)
        rules = None
        try:
            from minsheng.classification.rules import RuleClassifier

            rules = RuleClassifier()
        except ImportError:
            log.warning("keyword rules unavailable; triage leaves categories to the dispatcher")
        _categoriser = Categoriser(model=model, rules=rules)
    return _categoriser


def reset() -> None:
    global _categoriser
    _categoriser = None
