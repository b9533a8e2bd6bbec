"""Fixed-window rate limits shared by every web process (the counters live in the database)."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F

from minsheng.core import clock
from minsheng.intake.models import RateCounter


def allow(key: str, *, limit: int, window_s: int) -> bool:
    """Count one hit for ``key``; False once more than ``limit`` hits fall in the current window."""
    now = clock.now()
    start = dt.datetime.fromtimestamp(int(now.timestamp()) // window_s * window_s, tz=dt.UTC)
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window=start).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window=start, count=1)
            except IntegrityError:  # another process created the row first
                RateCounter.objects.filter(key=key, window=start).update(count=F("count") + 1)
        count = RateCounter.objects.get(key=key, window=start).count
    return count <= limit
