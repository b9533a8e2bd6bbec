"""Partners as every push reads them: kept per process for a few seconds.

A push needs its partner twice (the signature check, then the field mapping) and a partner changes
rarely, so each process keeps the rows it read. A change made in this process (the admin page) clears
the copy at once (signals, see ``apps.py``); other processes see it within ``TTL_S``. That bounds how
long a revoked key (partner switched off, secret rotated) is still accepted by another web process.
Unknown codes are not remembered: a flood of made-up codes cannot grow the cache.
"""

import threading
import time

from minsheng.intake.models import Partner

TTL_S = 10.0

_lock = threading.Lock()
_by_code: dict[str, tuple[float, Partner]] = {}


def get(code: str, *, active_only: bool = True) -> Partner | None:
    """The partner with ``code`` (switched-off partners only with ``active_only=False``), or None."""
    now = time.monotonic()
    entry = _by_code.get(code)
    if entry is None or now - entry[0] > TTL_S:
        partner = Partner.objects.filter(code=code).first()
        if partner is None:
            with _lock:
                _by_code.pop(code, None)
            return None
        entry = (now, partner)
        with _lock:
            _by_code[code] = entry
    partner = entry[1]
    if active_only and not partner.active:
        return None
    return partner


def reset(**kwargs) -> None:
    """Forget every cached partner (a partner saved or deleted in this process; tests)."""
    with _lock:
        _by_code.clear()
