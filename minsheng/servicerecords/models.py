"""Service records: a 110 dispatch or a service-window transaction. Not appeals: they feed the
satisfaction follow-up and the analysis."""

from django.db import models

from minsheng.core import clock
from minsheng.core.masking import mask_phone


class ServiceKind(models.TextChoices):
    POLICE_110 = "police_110", "110接处警"
    HOUSEHOLD = "household", "户政窗口"
    EXIT_ENTRY = "exit_entry", "出入境窗口"
    VEHICLE = "vehicle", "车管窗口"
    DRIVER = "driver", "驾管窗口"
    TRAFFIC = "traffic", "交管窗口"


class ServiceRecord(models.Model):
    """One service given to one citizen by one unit: who, when, what, with what outcome."""

    kind = models.CharField("类型", max_length=16, choices=ServiceKind.choices)
    service_type = models.CharField("业务", max_length=64, blank=True)
    unit = models.ForeignKey(
        "units.Unit", null=True, blank=True, on_delete=models.PROTECT, verbose_name="单位"
    )
    unit_text = models.CharField("单位（原文）", max_length=128, blank=True)
    officer_name = models.CharField("民警", max_length=32, blank=True)
    officer_number = models.CharField("警号", max_length=16, blank=True)
    citizen_phone = models.CharField("群众电话", max_length=32, blank=True)
    started_at = models.DateTimeField("开始时间", db_index=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    outcome = models.CharField("结果", max_length=255, blank=True)
    external_source = models.CharField("来源系统", max_length=64)
    external_ref = models.CharField("外部编号", max_length=64)
    registered_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "服务记录"
        verbose_name_plural = "服务记录"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_ref"], name="service_record_ref_unique"
            )
        ]
        # Plain indexes, not ``db_index=True``: on PostgreSQL that adds a second, ``LIKE`` index to each
        # text column, which nothing here queries and which a batch of a million rows pays for on
        # every row (two of the table's eight indexes).
        indexes = [
            models.Index(fields=["kind"], name="service_record_kind"),
            models.Index(fields=["citizen_phone"], name="service_record_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_ref}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.citizen_phone)
