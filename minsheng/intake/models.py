"""What arrives, stored as it arrived before anything parses it; partner systems; batch imports."""

import hashlib
import secrets

from django.conf import settings
from django.db import models

from minsheng.core import clock

# Default field mapping of a 12345-style partner: our field → the partner's field (JSON key or column).
DEFAULT_MAPPING = {
    "external_ref": "工单编号",
    "received_at": "来电时间",
    "appellant_name": "来电人",
    "appellant_phone": "来电号码",
    "content": "诉求内容",
    "title": "标题",
    "address": "诉求地址",
    "category_hint": "诉求类型",
    "due_hint": "办理时限",
}


def new_secret() -> str:
    return secrets.token_hex(32)


def new_key_id() -> str:
    return secrets.token_hex(8)


class Partner(models.Model):
    """A partner system that pushes work orders (12345 hotline, discipline hotline, 110, windows)."""

    code = models.SlugField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64)
    channel = models.CharField("渠道", max_length=32)
    key_id = models.CharField("密钥编号", max_length=32, unique=True, default=new_key_id)
    secret = models.CharField(
        "签名密钥", max_length=128, default=new_secret, help_text="HMAC-SHA256 共享密钥，只在对接双方保存。"
    )
    mapping = models.JSONField(
        "字段映射",
        default=dict,
        blank=True,
        help_text='平台字段 → 对方字段名，如 {"content": "诉求内容"}；留空用默认映射。',
    )
    replay_window_s = models.PositiveIntegerField("防重放时间窗（秒）", default=300)
    # Per partner, not global: a partner system that shows the case number to its operator at once
    # keeps the synchronous answer; one that only needs "received" gets it in a few milliseconds.
    answer_on_receipt = models.BooleanField(
        "收妥即答复",
        default=False,
        help_text="开启后，签名、字段校验通过并保存原始报文即答复 202（附报文编号），受理登记、分派与查重由后台任务完成；"
        "重复的工单编号仍即时答复已有诉求，字段错误仍即时答复 400。关闭时答复 201 与工单编号。",
    )
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "对接系统"
        verbose_name_plural = "对接系统"

    def __str__(self) -> str:
        return self.name

    def field_mapping(self) -> dict[str, str]:
        return {**DEFAULT_MAPPING, **(self.mapping or {})}


class PayloadStatus(models.TextChoices):
    PENDING = "pending", "待处理"
    PROCESSED = "processed", "已受理"
    DUPLICATE = "duplicate", "重复推送"
    QUARANTINED = "quarantined", "待修复"
    REJECTED = "rejected", "已拒收"


class RawPayload(models.Model):
    """One inbound payload exactly as received (bytes, headers, source). Written and committed before
    any parsing, so a crash, a bug or bad input can never lose what a citizen sent."""

    received_at = models.DateTimeField("收到时间", default=clock.now, db_index=True)
    channel = models.CharField("渠道", max_length=32)
    transport = models.CharField("方式", max_length=16)  # push, batch, web, imap, open311, api
    source = models.CharField("来源", max_length=64, blank=True)  # partner code, mailbox, ip …
    content_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField("原始内容")
    body_sha256 = models.CharField(max_length=64)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    signature = models.CharField(max_length=128, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=PayloadStatus.choices, default=PayloadStatus.PENDING
    )
    error = models.TextField("原因", blank=True)
    error_field = models.CharField("字段", max_length=64, blank=True)
    correction = models.JSONField(
        "修正后的内容", null=True, blank=True, help_text="管理员修正后重新处理时使用（JSON 对象）。"
    )
    appeal = models.ForeignKey(
        "appeals.Appeal", null=True, blank=True, on_delete=models.SET_NULL, related_name="payloads"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "原始报文"
        verbose_name_plural = "原始报文"
        ordering = ["-received_at"]
        constraints = [
            # The same signed request twice is a replay, refused even inside the time window.
            models.UniqueConstraint(
                fields=["source", "signature"],
                condition=~models.Q(signature=""),
                name="payload_signature_once",
            ),
        ]
        indexes = [
            # Plain indexes rather than ``db_index=True``, which on PostgreSQL adds a ``LIKE`` index to
            # each text column: nothing searches these by prefix, and every push writes them.
            models.Index(fields=["status"], name="payload_status"),
            models.Index(fields=["body_sha256"], name="payload_sha256"),
            # Only the pending rows: the queue of pushes answered on receipt is read oldest first
            # (``tasks.process_received``) without walking every payload ever received.
            models.Index(fields=["id"], condition=models.Q(status="pending"), name="payload_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.received_at:%Y-%m-%d %H:%M:%S} {self.get_status_display()}"

    def save(self, *args, **kwargs):
        if not self.body_sha256:
            self.body_sha256 = hashlib.sha256(bytes(self.body)).hexdigest()
        super().save(*args, **kwargs)

    @property
    def text(self) -> str:
        data = bytes(self.body)
        for encoding in ("utf-8", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        return data.decode("utf-8", errors="replace")


class ImportBatch(models.Model):
    """One batch file (CSV or XLSX) imported for a channel, with its counts and its rejected rows."""

    channel = models.CharField("渠道", max_length=32)
    file_name = models.CharField("文件名", max_length=255)
    payload = models.ForeignKey(RawPayload, on_delete=models.PROTECT, related_name="+")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField("行数", default=0)
    imported = models.PositiveIntegerField("导入", default=0)
    duplicates = models.PositiveIntegerField("已导入过", default=0)
    rejected = models.PositiveIntegerField("拒收", default=0)
    rejections = models.FileField("拒收明细", upload_to="imports/rejections/", blank=True)

    class Meta:
        verbose_name = "批量导入"
        verbose_name_plural = "批量导入"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported}/{self.rows})"


class RateCounter(models.Model):
    """A fixed-window counter shared by all web processes (per IP, per phone) for the public forms."""

    key = models.CharField(max_length=128)
    window = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_counter_window")]

    def __str__(self) -> str:
        return f"{self.key} {self.count}"
