"""Working days and working hours for deadlines (Chinese public holidays and 调休 included).

Order of authority for "is this a working day": the platform's own ``CalendarDay`` overrides (entered
when the State Council publishes a new year's schedule), then ``chinese-calendar``'s built-in schedule,
then the plain Monday-to-Friday rule for years neither knows.
"""

import datetime as dt
import time

import chinese_calendar
from django.conf import settings
from django.utils import timezone

MAX_SCAN_DAYS = 400  # a deadline never needs to look further ahead than this


# Overrides are few (a few dozen a year) and read on every deadline computation, so each process keeps
# them in memory; the TTL makes an admin's edit reach the worker and other web processes too.
_CACHE_TTL_S = 300
_cache: tuple[float, dict[dt.date, bool]] | None = None


def _overrides() -> dict[dt.date, bool]:
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > _CACHE_TTL_S:
        from minsheng.core.models import CalendarDay

        _cache = (now, dict(CalendarDay.objects.values_list("date", "is_workday")))
    return _cache[1]


def clear_cache() -> None:
    """Forget the cached overrides (called when an admin edits the calendar, and by tests)."""
    global _cache
    _cache = None


def calendar_known(year: int) -> bool:
    """Whether the holiday schedule of ``year`` is known (built in, or entered as overrides)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
        return True
    except NotImplementedError:
        return any(d.year == year and not w for d, w in _overrides().items())


def is_workday(day: dt.date) -> bool:
    override = _overrides().get(day)
    if override is not None:
        return override
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def _periods() -> list[tuple[dt.time, dt.time]]:
    return [
        (dt.time.fromisoformat(start), dt.time.fromisoformat(end))
        for start, end in settings.MINSHENG["WORK_PERIODS"]
    ]


def _local(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        raise ValueError("deadline arithmetic needs an aware datetime")
    return timezone.localtime(moment)


def end_of_workday(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, _periods()[-1][1]))


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end of the ``days``-th working day after the day of ``start`` (the start day not counted).

    This is how "N个工作日内办结" is read: a case registered on Friday with 1 working day is due at the
    close of business on the next working day.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    day = _local(start).date()
    if days == 0:
        return end_of_workday(day)
    counted = 0
    for _ in range(MAX_SCAN_DAYS):
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
            if counted == days:
                return end_of_workday(day)
    raise ValueError("no working day found in range")


def extend_by_working_days(due: dt.datetime, days: int) -> dt.datetime:
    """A deadline moved by ``days`` more working days (an approved extension)."""
    return add_working_days(due, days)


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The moment ``hours`` working hours after ``start``, counting only working periods of working days."""
    remaining = dt.timedelta(hours=hours)
    moment = _local(start)
    for _ in range(MAX_SCAN_DAYS):
        day = moment.date()
        if is_workday(day):
            for begin, end in _periods():
                period_start = timezone.make_aware(dt.datetime.combine(day, begin))
                period_end = timezone.make_aware(dt.datetime.combine(day, end))
                if moment >= period_end:
                    continue
                cursor = max(moment, period_start)
                available = period_end - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
                moment = period_end
        moment = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0)))
    raise ValueError("no working time found in range")


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end``; negative when ``end`` is before ``start``."""
    if end < start:
        return -working_hours_between(end, start)
    start, end = _local(start), _local(end)
    total = dt.timedelta()
    day = start.date()
    while day <= end.date():
        if is_workday(day):
            for begin, finish in _periods():
                period_start = timezone.make_aware(dt.datetime.combine(day, begin))
                period_end = timezone.make_aware(dt.datetime.combine(day, finish))
                lo, hi = max(start, period_start), min(end, period_end)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600
