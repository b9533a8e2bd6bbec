"""Follow-up requests (回访任务): one question put to one citizen about one case or service, and the calls."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from minsheng.cases.choices import FollowupAnswer
from minsheng.core import clock
from minsheng.core.masking import mask_phone
from minsheng.followup.choices import (
    STATE_BADGE,
    AgentReason,
    AnsweredVia,
    CallOutcome,
    FollowupKind,
    FollowupState,
)


class FollowupRequest(models.Model):
    """Asking one citizen whether they are satisfied: first by SMS, then (if needed) by an agent's call.

    A case gets one round per completion (level 1, and again at level 2 after a re-handle) with one
    request per appellant: each distinct phone among the case's appeals whose appellant agreed to be
    contacted (主件 and 关联件 alike; ``appeal`` is the one the number was taken from). At most one
    request per case and number is open at a time. A service record gets at most one.
    """

    kind = models.CharField("类型", max_length=16, choices=FollowupKind.choices)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="followups",
        verbose_name="工单",
    )
    service_record = models.OneToOneField(
        "servicerecords.ServiceRecord",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="followup",
        verbose_name="服务记录",
    )
    appeal = models.ForeignKey(
        "appeals.Appeal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="诉求",
    )
    level = models.PositiveSmallIntegerField("回访级别", default=1)
    # The requests of one completion of the case, asked together and decided together (``flow``).
    round = models.PositiveSmallIntegerField("回访轮次", default=1)
    phone = models.CharField("联系电话", max_length=32)
    message = models.ForeignKey(
        "sms.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="回访短信",
    )
    state = models.CharField(
        "状态", max_length=16, choices=FollowupState.choices, default=FollowupState.WAITING, db_index=True
    )
    reason = models.CharField("转人工原因", max_length=16, choices=AgentReason.choices, blank=True)
    created_at = models.DateTimeField("发起时间", default=clock.now)
    agent_since = models.DateTimeField("转人工时间", null=True, blank=True)
    answer = models.CharField("回访结果", max_length=24, choices=FollowupAnswer.choices, blank=True)
    answered_at = models.DateTimeField("回访时间", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="回访人",
    )
    answered_via = models.CharField("回访方式", max_length=8, choices=AnsweredVia.choices, blank=True)
    reply = models.ForeignKey(
        "sms.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="群众回复",
    )
    reply_text = models.TextField("回复内容", blank=True)
    call_attempts = models.PositiveSmallIntegerField("电话回访次数", default=0)
    closed_note = models.CharField("结束说明", max_length=255, blank=True)
    complaint_case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="转为投诉工单",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "回访任务"
        verbose_name_plural = "回访任务"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "phone"],
                condition=Q(state__in=["waiting", "agent"]),
                name="followup_one_open_per_case_phone",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "phone"], name="followup_state_phone"),
            models.Index(fields=["state", "agent_since"], name="followup_agent_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.case or self.service_record}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def appellant_role(self) -> str:
        """主件 / 关联件 / 重复诉求: which of the case's appellants this request asks ("" for a service)."""
        return self.appeal.get_link_kind_display() if self.appeal_id else ""

    @property
    def badge(self) -> str:
        return STATE_BADGE[FollowupState(self.state)]

    @property
    def is_open(self) -> bool:
        return self.state in (FollowupState.WAITING, FollowupState.AGENT)

    @property
    def subject(self) -> str:
        if self.case_id:
            return f"{self.case.number} {self.case.title}"
        record = self.service_record
        return f"{record.get_kind_display()} {record.service_type or ''} {record.unit or record.unit_text}".strip()


class CallAttempt(models.Model):
    """One phone call of a follow-up agent: reached or not, and what was said."""

    request = models.ForeignKey(FollowupRequest, on_delete=models.CASCADE, related_name="calls")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="回访员"
    )
    at = models.DateTimeField("时间", default=clock.now)
    outcome = models.CharField("结果", max_length=16, choices=CallOutcome.choices)
    answer = models.CharField("回访结果", max_length=24, choices=FollowupAnswer.choices, blank=True)
    note = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = "电话回访记录"
        verbose_name_plural = "电话回访记录"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.get_outcome_display()}"
