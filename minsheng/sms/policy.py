"""SMS and follow-up policy: values admins set in 业务参数 (the ``Policy`` table) over the settings defaults.

Read once per sender cycle (one query for all keys), so an admin's change reaches running workers
without a restart.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

# policy key → (settings.SMS key, description shown in the admin docs)
KEYS = {
    "sms_quiet_hours": ("QUIET_HOURS", '短信免打扰时段，如 ["21:00", "08:00"]'),
    "sms_rate_per_s": ("RATE_PER_S", "短信全局发送速率上限（条/秒）"),
    "sms_per_number_per_hour": ("PER_NUMBER_PER_HOUR", "同一号码每小时最多短信数"),
    "sms_per_number_per_day": ("PER_NUMBER_PER_DAY", "同一号码每天最多短信数"),
    "followup_reply_hours": ("FOLLOWUP_REPLY_HOURS", "回访短信等待回复时长（小时），超时转电话回访"),
    "followup_call_attempts": ("FOLLOWUP_CALL_ATTEMPTS", "电话回访最多尝试次数，仍未接通按无法联系结案"),
}


def current() -> dict:
    """All SMS policy values: the admin's where set, else the settings defaults."""
    from minsheng.core.models import Policy

    values = {key: settings.SMS[name] for key, (name, _) in KEYS.items()}
    for key, value in Policy.objects.filter(key__in=list(KEYS)).values_list("key", "value"):
        values[key] = value
    return values


def get(key: str):
    return current()[key]


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(str(text).strip())


def in_quiet_hours(moment: dt.datetime, quiet) -> bool:
    """Whether ``moment`` (aware) falls in the quiet window, read in local time (Asia/Shanghai).

    The window may wrap midnight (21:00–08:00) or not (12:00–13:30); start == end means none.
    """
    start, end = _time(quiet[0]), _time(quiet[1])
    if start == end:
        return False
    local = timezone.localtime(moment).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(moment: dt.datetime, quiet) -> dt.datetime:
    """The first moment at or after ``moment`` outside the quiet window."""
    if not in_quiet_hours(moment, quiet):
        return moment
    end = _time(quiet[1])
    local = timezone.localtime(moment)
    candidate = timezone.make_aware(dt.datetime.combine(local.date(), end))
    if candidate <= moment:
        candidate = timezone.make_aware(dt.datetime.combine(local.date() + dt.timedelta(days=1), end))
    return candidate
