"""Which category an appeal belongs to: the trained model when the platform has one, keyword rules
before that (cold start). Both answer a ranked list of (category code, confidence).

The model is the file ``settings.CLASSIFIER_MODEL`` (written by ``minsheng classify train`` or
``minsheng classify retrain``). Each process keeps it loaded and looks at the file's identity (mtime,
size, inode) at most every ``CLASSIFIER_RELOAD_S`` seconds: a model installed by the daily retrain in
the worker reaches the web processes within that time, without a restart. The retrain installs with
an atomic rename, so a process never reads half a file.
"""

import logging
import os
import time
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
            scores = self.rules.scores(text)
            hit = self.rules.classify(text, scores)
            if hit is not None:
                code, confidence = hit
                # A keyword rule is decisive only where the model is unsure or absent.
                if not ranked or ranked[0][1] < confidence:
                    ranked = [(code, confidence)] + [(c, s) for c, s in ranked if c != code]
                if self.model is None:
                    ranked += self._runners_up(scores, code, confidence)
        return ranked[:3]

    @staticmethod
    def _runners_up(scores: dict[str, float], best: str, confidence: float) -> list[tuple[str, float]]:
        """Without a model, the other categories whose keywords the text has, for the dispatcher's
        top three (each at most half as sure as the winner: they never decide anything)."""
        top = scores.get(best) or 1.0
        others = sorted(((s, c) for c, s in scores.items() if c != best), reverse=True)
        return [(c, round(confidence * min(1.0, s / top) / 2, 4)) for s, c in others[:2]]


_categoriser: Categoriser | None = None
# The identity of the model file the cached categoriser was built from (None: no file), and when
# it was last compared with the file on disk.
_loaded_from: tuple | None = None
_checked_at = 0.0


def _file_identity(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def model_path() -> str:
    return str(getattr(settings, "CLASSIFIER_MODEL", "") or "")


def _build(path: str) -> Categoriser:
    model = None
    if path and Path(path).exists():
        try:
            from minsheng.classification.modelfile import load_model

            model = load_model(path)
            log.info("classifier model %s loaded (%d categories)", path, len(model.labels))
        except Exception as exc:  # a refused or broken model file must not stop intake
            log.error("classifier model %s not used: %s", path, exc)
    rules = None
    try:
        from minsheng.classification.rules import RuleClassifier

        rules = RuleClassifier()
    except ImportError:
        log.warning("keyword rules unavailable; triage leaves categories to the dispatcher")
    return Categoriser(model=model, rules=rules)


def categoriser() -> Categoriser:
    """The process's categoriser; rebuilt when the installed model file has changed."""
    global _categoriser, _loaded_from, _checked_at
    now = time.monotonic()
    if _categoriser is not None and now - _checked_at < getattr(settings, "CLASSIFIER_RELOAD_S", 30):
        return _categoriser
    path = model_path()
    identity = _file_identity(path) if path else None
    _checked_at = now
    if _categoriser is None or identity != _loaded_from:
        _categoriser = _build(path)
        _loaded_from = identity
    return _categoriser


def reset() -> None:
    """Forget the loaded model: the next call reads the file again (after an install, and in tests)."""
    global _categoriser, _loaded_from, _checked_at
    _categoriser = None
    _loaded_from = None
    _checked_at = 0.0
