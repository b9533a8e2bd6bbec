"""Heartbeats: background processes say they are alive, /healthz shows who is silent."""

from minsheng.core import clock
from minsheng.core.models import Heartbeat


def beat(name: str, detail: str = "") -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": clock.now(), "detail": detail[:255]})
