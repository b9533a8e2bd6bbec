"""The demo cast: one named account per role, in real Jinan units (demo only, never in production)."""

from django.db import transaction

from minsheng.accounts.models import Membership, Role, User
from minsheng.units.models import Unit

DEMO_PASSWORD = "minsheng2026"

# username, real name, police number, (unit name, parent name), roles, staff (admin site) flag
DEMO_CAST = [
    ("admin", "赵平台", "000001", ("民生警务平台办公室", "济南市公安局"), [Role.PLATFORM_ADMIN], True),
    ("dispatcher", "钱派单", "000101", ("民生警务平台办公室", "济南市公安局"), [Role.DISPATCHER], False),
    ("followup", "孙回访", "000102", ("民生警务平台办公室", "济南市公安局"), [Role.FOLLOWUP_AGENT], False),
    ("luokou", "李承办", "105001", ("泺口派出所", "天桥分局"), [Role.HANDLING_OFFICER], False),
    ("luokou_head", "周所长", "105002", ("泺口派出所", "天桥分局"), [Role.MAIN_LEADER, Role.HEAD], False),
    ("gongren", "吴民警", "105101", ("工人新村北村派出所", "天桥分局"), [Role.HANDLING_OFFICER], False),
    ("lixia", "郑民警", "102001", ("文化东路派出所", "历下分局"), [Role.HANDLING_OFFICER], False),
    (
        "tianqiao_sup",
        "王督办",
        "105900",
        ("天桥分局", "济南市公安局"),
        [Role.SUPERVISOR, Role.DEPUTY_LEADER],
        False,
    ),
    ("inspector", "冯督察", "009001", ("警务督察支队", "济南市公安局"), [Role.INSPECTOR], False),
    ("leader", "陈局长", "000002", ("济南市公安局", None), [Role.CITY_LEADER], False),
]


def _unit(name: str, parent: str | None) -> Unit:
    queryset = Unit.objects.filter(name=name)
    queryset = queryset.filter(parent__name=parent) if parent else queryset.filter(parent__isnull=True)
    return queryset.get()


@transaction.atomic
def ensure_demo_accounts() -> list[tuple[str, str, str]]:
    """Create (or reset) the demo accounts; returns (username, role labels, unit) for printing."""
    printed = []
    for username, real_name, police_number, (unit_name, parent), roles, staff in DEMO_CAST:
        unit = _unit(unit_name, parent)
        user, _ = User.objects.get_or_create(username=username)
        user.real_name, user.police_number = real_name, police_number
        user.phone = f"1390531{police_number[-4:]}"
        user.is_staff = staff
        user.is_superuser = staff
        user.set_password(DEMO_PASSWORD)
        user.save()
        for role in roles:
            Membership.objects.get_or_create(user=user, unit=unit, role=role)
        printed.append((username, "、".join(Role(r).label for r in roles), unit.name))
    return printed
