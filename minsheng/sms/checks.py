"""Start-up checks: a Kannel set-up missing what the guarantees rely on fails loudly, not silently."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def kannel_settings(app_configs, **kwargs):
    if settings.SMS_BACKEND != "kannel":
        return []
    problems = []
    if not settings.KANNEL_CALLBACK_SECRET:
        problems.append(
            Error("KANNEL_CALLBACK_SECRET is empty: Kannel's callbacks would be refused", id="sms.E001")
        )
    if not settings.KANNEL_PASSWORD:
        problems.append(Error("KANNEL_PASSWORD is empty", id="sms.E002"))
    if not settings.KANNEL_CALLBACK_URL:
        problems.append(
            Warning(
                "KANNEL_CALLBACK_URL is empty: no delivery reports, and a send in doubt cannot be confirmed",
                id="sms.W001",
            )
        )
    if not settings.KANNEL_ADMIN_URL:
        problems.append(
            Warning(
                "KANNEL_ADMIN_URL is empty: a send in doubt is resolved by delivery reports only "
                "(re-sent if none came: at-least-once instead of exactly-once)",
                id="sms.W002",
            )
        )
    if settings.SMS_SIMULATOR:
        problems.append(
            Warning("SMS_SIMULATOR is on with a real gateway: staff could answer as citizens", id="sms.W003")
        )
    return problems
