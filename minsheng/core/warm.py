"""Load, at process start, what the first appeal would otherwise wait for (≈3 s of CPU): jieba's
dictionary for the classifier and the duplicate detector's word tables and gazetteer. No database."""

import logging

log = logging.getLogger(__name__)


def warm() -> None:
    try:
        from minsheng.classification.text import _ensure_jieba
        from minsheng.dedup.places import default_gazetteer
        from minsheng.dedup.text import _jieba_tables

        _ensure_jieba()
        _jieba_tables()
        default_gazetteer()
    except Exception:  # a cold first appeal is slower, not wrong
        log.exception("warm-up failed; the first appeal will load these itself")
