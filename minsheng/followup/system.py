"""The platform's own account for what the SMS follow-up does by itself (a citizen's reply is recorded
by "短信自动回访", not by a person who was never there)."""

from django.db import transaction

from minsheng.accounts.models import Membership, Role, User
from minsheng.units.models import Unit

USERNAME = "sms_followup"


@transaction.atomic
def system_actor() -> User:
    """The system follow-up account, created on first use in the platform office (level 1): it records
    answers (回访员) and, for a dissatisfied service record, registers and dispatches the complaint
    (派单员), exactly as a platform-office person would, through the same actions and rules."""
    user, created = User.objects.get_or_create(
        username=USERNAME, defaults={"real_name": "短信自动回访", "is_system": True, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not user.memberships.exists():
        office = (
            Unit.objects.filter(level=1, name="民生警务平台办公室").first()
            or Unit.objects.filter(level=1).order_by("path").first()
        )
        if office is None:
            raise RuntimeError("组织机构未载入：没有一级单位可放置短信回访系统账号")
        for role in (Role.FOLLOWUP_AGENT, Role.DISPATCHER):
            Membership.objects.get_or_create(user=user, unit=office, role=role)
        user = User.objects.get(pk=user.pk)  # fresh cached memberships
    return user
