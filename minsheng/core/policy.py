"""Organisational policy: values admins set in the ``Policy`` table, with defaults from settings."""

from django.conf import settings

DEFAULTS = {
    "accept_hours": ("ACCEPT_HOURS", "签收时限（工作小时）"),
    "due_soon_hours": ("DUE_SOON_HOURS", "即将超期提醒（剩余工作小时）"),
    "rehandle_days": ("REHANDLE_DAYS", "不满意重办时限（工作日）"),
}


def get(key: str):
    from minsheng.core.models import Policy

    row = Policy.objects.filter(key=key).first()
    if row is not None:
        return row.value
    setting_name, _ = DEFAULTS[key]
    return settings.MINSHENG[setting_name]
