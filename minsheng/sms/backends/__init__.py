"""SMS transports: one class per gateway (``kannel``), plus ``log`` for development and ``simulator``
for the demo. ``get_backend()`` builds the one named by ``settings.SMS_BACKEND``."""

from django.conf import settings
from django.utils.module_loading import import_string

from minsheng.sms.backends.base import (
    Backend,
    GatewayUnavailable,
    InDoubt,
    PermanentError,
    SendError,
    TransientError,
)

BACKENDS = {
    "kannel": "minsheng.sms.backends.kannel.KannelBackend",
    "log": "minsheng.sms.backends.log.LogBackend",
    "simulator": "minsheng.sms.backends.simulator.SimulatorBackend",
}

__all__ = [
    "BACKENDS",
    "Backend",
    "GatewayUnavailable",
    "InDoubt",
    "PermanentError",
    "SendError",
    "TransientError",
    "get_backend",
]


def get_backend(name: str | None = None) -> Backend:
    name = name or settings.SMS_BACKEND
    try:
        path = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown SMS backend {name!r} (use one of {', '.join(BACKENDS)})") from None
    return import_string(path)()
