"""The SMS outbox, what came back (replies, delivery reports), opt-outs and the editable texts."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from minsheng.core import clock
from minsheng.core.masking import mask_phone
from minsheng.sms.choices import (
    MESSAGE_BADGE,
    DlrType,
    Encoding,
    InboundSource,
    InboundStatus,
    MessageState,
)


def new_dlr_id() -> str:
    return secrets.token_hex(12)


class SmsTemplate(models.Model):
    """An SMS text admins edit: a body with ``{变量}`` placeholders, rendered when a message is queued.

    Which variables a text may use is declared in code (``sms.texts``); the admin form refuses others.
    """

    key = models.SlugField("代码", max_length=64, unique=True)
    name = models.CharField("名称", max_length=64)
    body = models.TextField("短信内容", help_text="用 {变量名} 插入变量，可用变量见下方说明。")
    active = models.BooleanField("启用", default=True, help_text="停用时使用系统内置的默认内容。")
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="修改人",
    )

    class Meta:
        verbose_name = "短信模板"
        verbose_name_plural = "短信模板"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One outgoing SMS (the outbox row). Written in the transaction of the event that causes it;
    sent after commit by a sender that claims it with a conditional update and a lease.

    The state only moves forward: queued → claimed → sending → sent → delivered, or failed/cancelled.
    ``sending`` means a request to the gateway may have been made; a ``sending`` row whose lease ran out
    is *in doubt* and is resolved against the gateway (``sender.recover``), never blindly re-sent.
    """

    # No single-column indexes on phone or state: the (phone, sent_at) and claim indexes below lead with
    # them, and every index is maintained on each of the three or four UPDATEs a message goes through.
    phone = models.CharField("手机号", max_length=20)
    body = models.TextField("内容")
    sender = models.CharField("发送号码", max_length=21, blank=True)
    purpose = models.CharField("用途", max_length=32, db_index=True)
    template = models.CharField("模板", max_length=64, blank=True)
    ref = models.CharField("关联", max_length=64, blank=True, help_text="如 case:20261127000001")
    priority = models.PositiveSmallIntegerField("优先级", default=5, help_text="数字越小越先发")
    state = models.CharField("状态", max_length=16, choices=MessageState.choices, default=MessageState.QUEUED)
    encoding = models.CharField("编码", max_length=8, choices=Encoding.choices, default=Encoding.UCS2)
    length = models.PositiveIntegerField("字数", default=0, help_text="按短信编码计的字符数")
    segments = models.PositiveSmallIntegerField("条数", default=1, help_text="长短信拆分后的条数")
    created_at = models.DateTimeField("创建时间", default=clock.now)
    next_attempt_at = models.DateTimeField("最早发送时间", default=clock.now)
    deferred_reason = models.CharField("延后原因", max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField("发送次数", default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)
    sending_at = models.DateTimeField("开始发送", null=True, blank=True)
    sent_at = models.DateTimeField("提交网关时间", null=True, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    backend = models.CharField("通道", max_length=16, blank=True)
    dlr_id = models.CharField("回执标识", max_length=32, unique=True, default=new_dlr_id)
    gateway_id = models.CharField("网关短信编号", max_length=64, blank=True)
    smsc_id = models.CharField("短信中心编号", max_length=64, blank=True)
    gateway_response = models.CharField("网关应答", max_length=255, blank=True)
    last_error = models.CharField("最近错误", max_length=255, blank=True)
    dlr_status = models.PositiveSmallIntegerField("最近回执", choices=DlrType.choices, null=True, blank=True)
    dedupe_key = models.CharField(max_length=128, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = "短信"
        verbose_name_plural = "短信"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sender's claim query: queued rows due now, by priority then age.
            models.Index(fields=["state", "priority", "next_attempt_at"], name="sms_claim"),
            # Rate limits count what went out in a window, per number and in total.
            models.Index(fields=["phone", "sent_at"], name="sms_phone_sent"),
            models.Index(fields=["sent_at"], name="sms_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.masked_phone} {self.get_state_display()}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def badge(self) -> str:
        return MESSAGE_BADGE[MessageState(self.state)]


class DeliveryReport(models.Model):
    """A delivery report from the gateway (Kannel's dlr-url call), kept as received."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    received_at = models.DateTimeField("接收时间", default=clock.now)
    status = models.PositiveSmallIntegerField("回执类型", choices=DlrType.choices)
    attempt = models.PositiveSmallIntegerField("第几次发送", default=0)
    answer = models.CharField("短信中心应答", max_length=255, blank=True)
    gateway_id = models.CharField("网关短信编号", max_length=64, blank=True)
    smsc_id = models.CharField("短信中心编号", max_length=64, blank=True)

    class Meta:
        verbose_name = "状态回执"
        verbose_name_plural = "状态回执"
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.get_status_display()}"


class InboundMessage(models.Model):
    """An SMS a citizen sent us (an MO message): a reply to a follow-up, an opt-out, or anything else."""

    phone = models.CharField("手机号", max_length=20, db_index=True)
    to = models.CharField("接收号码", max_length=21, blank=True)
    text = models.TextField("内容", blank=True)
    received_at = models.DateTimeField("接收时间", default=clock.now, db_index=True)
    source = models.CharField("来源", max_length=16, choices=InboundSource.choices)
    external_id = models.CharField("网关编号", max_length=64, blank=True)
    status = models.CharField("处理结果", max_length=16, choices=InboundStatus.choices, blank=True)
    opt_out = models.BooleanField("含退订", default=False)
    handled_by = models.CharField("处理环节", max_length=32, blank=True)
    note = models.CharField("说明", max_length=255, blank=True)
    in_reply_to = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        verbose_name="回复的短信",
    )

    class Meta:
        verbose_name = "上行短信"
        verbose_name_plural = "上行短信"
        ordering = ["-received_at", "-pk"]
        constraints = [
            # Kannel may call the get-url again for the same message (retries): store it once.
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="sms_inbound_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.masked_phone} {self.text[:20]}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class OptOut(models.Model):
    """A number that asked for no more SMS (回复TD/退订). Nothing is sent to it while the row exists."""

    phone = models.CharField("手机号", max_length=20, unique=True)
    at = models.DateTimeField("退订时间", default=clock.now)
    source = models.CharField("方式", max_length=16, default="sms")
    inbound = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        verbose_name = "退订号码"
        verbose_name_plural = "退订号码"
        ordering = ["-at"]

    def __str__(self) -> str:
        return mask_phone(self.phone)
