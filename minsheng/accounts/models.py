"""People, their units and their roles. Responsibility lands on a named, real-name person."""

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", "平台管理员"
    DISPATCHER = "dispatcher", "派单员"
    MAIN_LEADER = "main_leader", "主要领导"
    DEPUTY_LEADER = "deputy_leader", "分管领导"
    HEAD = "head", "负责人"
    ADMINISTRATOR = "administrator", "管理员"
    HANDLING_OFFICER = "handling_officer", "承办民警"
    SUPERVISOR = "supervisor", "督办员"
    FOLLOWUP_AGENT = "followup_agent", "回访员"
    INSPECTOR = "inspector", "督察/纪检/法制"
    CITY_LEADER = "city_leader", "市局领导"


# Roles that work cases of their own unit (accept, handle, return, ask for more time).
HANDLING_ROLES = frozenset(
    {Role.MAIN_LEADER, Role.DEPUTY_LEADER, Role.HEAD, Role.ADMINISTRATOR, Role.HANDLING_OFFICER}
)
# Roles that see every case whatever their unit; inspectors and city leaders read, never write.
GLOBAL_READ_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.INSPECTOR, Role.CITY_LEADER})
# Roles whose work needs the citizen's full phone number (they call back or handle the matter).
PII_ROLES = frozenset(
    {Role.PLATFORM_ADMIN, Role.DISPATCHER, Role.FOLLOWUP_AGENT, Role.INSPECTOR} | HANDLING_ROLES
)


class User(AbstractUser):
    """A staff member (real name, police number) or a system account used by partner systems."""

    real_name = models.CharField("姓名", max_length=32, blank=True)
    police_number = models.CharField("警号", max_length=16, blank=True, db_index=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    is_system = models.BooleanField("系统账号", default=False, help_text="对接系统使用的账号（令牌认证）。")

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.real_name or self.username

    @cached_property
    def memberships_cached(self) -> list["Membership"]:
        return list(self.memberships.select_related("unit").all())

    @cached_property
    def roles(self) -> frozenset[str]:
        roles = {m.role for m in self.memberships_cached}
        if self.is_superuser:
            roles.add(Role.PLATFORM_ADMIN)
        return frozenset(roles)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def units_with_role(self, *roles: str) -> list:
        return [m.unit for m in self.memberships_cached if m.role in roles]

    @cached_property
    def units(self) -> list:
        seen = {}
        for m in self.memberships_cached:
            seen.setdefault(m.unit_id, m.unit)
        return list(seen.values())

    @cached_property
    def sees_everything(self) -> bool:
        """Level-1 staff, inspectors, city leaders and platform admins read every case."""
        return bool(self.roles & GLOBAL_READ_ROLES) or any(u.level == 1 for u in self.units)

    @property
    def display(self) -> str:
        unit = self.units[0].name if self.units else ""
        name = self.real_name or self.username
        return f"{unit} {name}".strip()


class Membership(models.Model):
    """A person's role in a unit; one person may hold several roles in several units."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name="人员")
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="memberships", verbose_name="单位"
    )
    role = models.CharField("角色", max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = "岗位"
        verbose_name_plural = "岗位"
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.unit} {self.user} {self.get_role_display()}"
