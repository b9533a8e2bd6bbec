"""Cases (工单): the unit of handling, its append-only timeline and its extension requests."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from minsheng.cases.choices import (
    OPEN_STATES,
    STATE_BADGE,
    CaseState,
    CloseReason,
    EventAction,
    FollowupAnswer,
)
from minsheng.core import clock


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CaseQuerySet":
        """The one place that decides which cases a user may see (deny by default).

        Level-1 staff, inspectors, city leaders and platform admins see all; everyone else sees the
        cases whose responsible unit is their unit or below it. Anonymous users see nothing.
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        units = user.units
        if not units:
            return self.none()
        condition = Q(pk__in=[])
        for unit in units:
            condition |= Q(responsible_unit__path__startswith=unit.path)
        return self.filter(condition)

    def open(self) -> "CaseQuerySet":
        return self.filter(state__in=OPEN_STATES)


class Case(models.Model):
    """One matter to handle: one or more appeals, a responsible unit and person, deadlines and a state.

    ``state`` is only ever changed by the functions in ``cases.actions`` (compare-and-set), each of which
    appends exactly one timeline event for the change.
    """

    number = models.CharField("工单编号", max_length=20, unique=True)
    title = models.CharField("标题", max_length=200)
    category = models.ForeignKey(
        "categories.Category", null=True, blank=True, on_delete=models.PROTECT, verbose_name="类别"
    )
    channel = models.CharField("来源渠道", max_length=32, db_index=True)
    state = models.CharField(
        "状态", max_length=16, choices=CaseState.choices, default=CaseState.REGISTERED, db_index=True
    )
    responsible_unit = models.ForeignKey(
        "units.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name="承办单位",
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        verbose_name="承办人",
    )
    direct = models.BooleanField("直派基层", default=False)
    district_code = models.CharField("区县", max_length=6, blank=True, db_index=True)
    township_code = models.CharField("街道/镇", max_length=9, blank=True)
    community_code = models.CharField("社区/村", max_length=12, blank=True)
    registered_at = models.DateTimeField("受理时间", default=clock.now, db_index=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    accepted_at = models.DateTimeField("签收时间", null=True, blank=True)
    completed_at = models.DateTimeField("办结时间", null=True, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    accept_due_at = models.DateTimeField("签收时限", null=True, blank=True)
    complete_due_at = models.DateTimeField("办结时限", null=True, blank=True, db_index=True)
    accept_overdue = models.BooleanField("签收超期", default=False)
    complete_overdue = models.BooleanField("办理超期", default=False)
    result = models.TextField("办理结果", blank=True)
    reply = models.TextField("答复内容", blank=True, help_text="告知诉求人的统一答复（一口回复）。")
    followup_level = models.PositiveSmallIntegerField("回访级别", default=1)
    followup_answer = models.CharField("回访结果", max_length=24, choices=FollowupAnswer.choices, blank=True)
    close_reason = models.CharField("结案方式", max_length=24, choices=CloseReason.choices, blank=True)
    return_count = models.PositiveSmallIntegerField("退单次数", default=0)
    repeat_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repeats",
        verbose_name="重复诉求原工单",
        help_text="同一事项办结后再次诉求（重复诉求）时，指向原工单。",
    )
    triage = models.JSONField(
        "分派建议",
        default=dict,
        blank=True,
        help_text="分类与定位结果、建议单位（前三）及理由，供派单员一键派单。",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = "工单"
        verbose_name_plural = "工单"
        ordering = ["-registered_at"]
        indexes = [
            models.Index(fields=["state", "-registered_at"], name="case_state_registered"),
            models.Index(fields=["responsible_unit", "state"], name="case_unit_state"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def channel_label(self) -> str:
        from minsheng.appeals.choices import Channel

        try:
            return Channel(self.channel).label
        except ValueError:
            return self.channel

    @property
    def badge(self) -> str:
        return STATE_BADGE[CaseState(self.state)]

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def active_due_at(self):
        """The deadline that matters now: acceptance while waiting to be accepted, else completion."""
        if self.state == CaseState.DISPATCHED:
            return self.accept_due_at
        if self.state == CaseState.IN_PROGRESS:
            return self.complete_due_at
        return None

    @property
    def is_overdue(self) -> bool:
        due = self.active_due_at
        return bool(due and due < clock.now())


class CaseEvent(models.Model):
    """One step on a case's timeline: who did what, when, from which state to which, and why.

    Append-only: the timeline is the audit that leaders, supervisors and inspectors read.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间", default=clock.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name="操作人"
    )
    actor_unit = models.ForeignKey(
        "units.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="操作单位",
    )
    action = models.CharField("动作", max_length=32, choices=EventAction.choices)
    from_state = models.CharField("原状态", max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField("新状态", max_length=16, choices=CaseState.choices, blank=True)
    note = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)

    class Meta:
        verbose_name = "流程记录"
        verbose_name_plural = "流程记录"
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="event_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("流程记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("流程记录只能追加，不能删除")

    @property
    def changes_state(self) -> bool:
        return bool(self.to_state) and self.to_state != self.from_state


class ExtensionState(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "已驳回"


class ExtensionRequest(models.Model):
    """A unit's request for more time; only an approval moves the completion deadline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=clock.now)
    days = models.PositiveSmallIntegerField("延长工作日")
    reason = models.TextField("理由")
    state = models.CharField(max_length=16, choices=ExtensionState.choices, default=ExtensionState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)
    old_due_at = models.DateTimeField(null=True, blank=True)
    new_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "延期申请"
        verbose_name_plural = "延期申请"
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="one_pending_extension_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.days} {self.get_state_display()}"


class Investigation(models.Model):
    """The level-3 record: what inspection/discipline/legal/the platform office found, and the conclusion."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="investigation")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=clock.now)
    findings = models.TextField("核查情况")
    internal_fault = models.BooleanField("存在内部过错", default=False)
    fault_detail = models.TextField("过错情况", blank=True)
    conclusion = models.TextField("结论")

    class Meta:
        verbose_name = "核查记录"
        verbose_name_plural = "核查记录"

    def __str__(self) -> str:
        return f"核查 {self.case_id}"
