"""Appeals (诉求): one submission by one citizen through one channel."""

import secrets

from django.conf import settings
from django.db import models

from minsheng.appeals.choices import Channel, LinkKind
from minsheng.core import clock
from minsheng.core.masking import mask_id_number, mask_phone


def new_tracking_code() -> str:
    """An unguessable code the citizen uses to follow the appeal (not the sequential number)."""
    return secrets.token_urlsafe(12)


class Appeal(models.Model):
    """What one citizen sent, as sent; the case it belongs to is where it is handled."""

    channel = models.CharField("渠道", max_length=32, choices=Channel.choices, db_index=True)
    received_at = models.DateTimeField("收到时间", db_index=True)
    registered_at = models.DateTimeField("受理时间", default=clock.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name="登记人"
    )
    appellant_name = models.CharField("诉求人", max_length=64, blank=True)
    appellant_phone = models.CharField("联系电话", max_length=32, blank=True, db_index=True)
    appellant_id_number = models.CharField("身份证号", max_length=18, blank=True, db_index=True)
    title = models.CharField("标题", max_length=200, blank=True)
    content = models.TextField("诉求内容")
    address = models.CharField("诉求地址", max_length=300, blank=True)
    district = models.ForeignKey(
        "divisions.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="区县",
    )
    township = models.ForeignKey(
        "divisions.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="街道/镇",
    )
    community = models.ForeignKey(
        "divisions.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="社区/村",
    )
    category = models.ForeignKey(
        "categories.Category", null=True, blank=True, on_delete=models.PROTECT, verbose_name="类别"
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
        verbose_name="工单",
    )
    link_kind = models.CharField("关联关系", max_length=16, choices=LinkKind.choices, default=LinkKind.MASTER)
    external_source = models.CharField("来源系统", max_length=64, blank=True)
    external_ref = models.CharField("外部编号", max_length=64, blank=True)
    tracking_code = models.CharField(
        "查询码", max_length=32, unique=True, default=new_tracking_code, editable=False
    )
    consent_to_contact = models.BooleanField("同意回访联系", default=True)
    dedup = models.JSONField(
        "比对结果",
        default=dict,
        blank=True,
        help_text="受理时自动比对的结论：关联、疑似或新件，相似度与理由。",
    )

    class Meta:
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        ordering = ["-received_at"]
        constraints = [
            # The same work order pushed twice by a partner system must never become two appeals.
            models.UniqueConstraint(
                fields=["external_source", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="appeal_external_ref_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.appellant_phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.appellant_id_number)

    @property
    def masked_name(self) -> str:
        name = self.appellant_name
        if not name:
            return "匿名"
        return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name


def attachment_path(instance: "AppealAttachment", filename: str) -> str:
    # The stored name is random: the citizen's filename is kept in ``name`` but never trusted as a path.
    return f"appeals/{instance.appeal_id}/{secrets.token_hex(8)}"


class AppealAttachment(models.Model):
    """A file sent with an appeal (a scanned letter, a photo, a PDF)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField("文件名", max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"

    def __str__(self) -> str:
        return self.name
