"""Platform-wide records: policy settings, the work calendar, heartbeats and the PII access log."""

from django.conf import settings
from django.db import models


class Policy(models.Model):
    """An organisational setting admins edit at run time (thresholds, hours, weights)."""

    key = models.SlugField("键", max_length=64, primary_key=True)
    value = models.JSONField("值")
    description = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        verbose_name = "业务参数"
        verbose_name_plural = "业务参数"

    def __str__(self) -> str:
        return self.key


class CalendarDay(models.Model):
    """An override of the work calendar: a public holiday or a make-up working day (调休).

    ``chinese-calendar`` knows the State Council schedule only for the years it was released with;
    a new year's schedule (published each November) is entered here by the platform office.
    """

    date = models.DateField("日期", primary_key=True)
    is_workday = models.BooleanField("是否工作日")
    name = models.CharField("说明", max_length=64, blank=True, help_text="如：春节、国庆节调休上班")

    class Meta:
        verbose_name = "节假日与调休"
        verbose_name_plural = "节假日与调休"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '休息'} {self.name}"


class Heartbeat(models.Model):
    """The last time a background process proved it was alive; /healthz reports it."""

    name = models.CharField(max_length=32, primary_key=True)
    seen_at = models.DateTimeField()
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "后台进程心跳"
        verbose_name_plural = "后台进程心跳"

    def __str__(self) -> str:
        return f"{self.name} {self.seen_at:%Y-%m-%d %H:%M:%S}"


class PiiAccess(models.Model):
    """Every time someone sees a citizen's full phone or ID number."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name="查看人")
    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, verbose_name="诉求")
    field = models.CharField("字段", max_length=32)
    via = models.CharField("途径", max_length=16, default="web")
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)

    class Meta:
        verbose_name = "敏感信息查看记录"
        verbose_name_plural = "敏感信息查看记录"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.field} {self.at:%Y-%m-%d %H:%M}"
