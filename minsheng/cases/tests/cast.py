"""The fixed cast of named users the tests act as (see ``accounts.demo.DEMO_CAST``)."""

from minsheng.accounts.models import User
from minsheng.units.models import Unit


def person(username: str) -> User:
    return User.objects.get(username=username)


def unit(name: str, parent: str | None = None) -> Unit:
    queryset = Unit.objects.filter(name=name)
    if parent:
        queryset = queryset.filter(parent__name=parent)
    return queryset.get()


def luokou() -> Unit:
    return unit("泺口派出所", "天桥分局")
