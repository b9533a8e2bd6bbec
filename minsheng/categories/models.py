"""The configurable category tree (类别) with each category's deadline and handler."""

from django.db import models

from minsheng.categories.defaults import KIND_DEFAULTS


class CategoryKind(models.TextChoices):
    CONSULTATION = "consultation", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"
    OTHER = "other", "其他"


class Category(models.Model):
    """A node of the category tree; leaves are what appeals are filed under."""

    code = models.SlugField("代码", max_length=64, unique=True)
    name = models.CharField("名称", max_length=64)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级类别",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    kind = models.CharField(
        "性质", max_length=16, choices=CategoryKind.choices, default=CategoryKind.COMPLAINT
    )
    handler_function = models.CharField(
        "承办单位职能", max_length=32, default="station", help_text="通常由哪类单位办理（路由规则可细化）。"
    )
    completion_days = models.PositiveSmallIntegerField(
        "办理时限（工作日）", null=True, blank=True, help_text="留空则按性质的默认时限。"
    )
    followup_required = models.BooleanField("需要回访", default=True)
    dedup_person_days = models.PositiveSmallIntegerField(
        "同人比对天数",
        null=True,
        blank=True,
        help_text="同一诉求人的诉求在多少天内比对；留空用平台默认（30天）。",
    )
    dedup_event_days = models.PositiveSmallIntegerField(
        "同事比对天数",
        null=True,
        blank=True,
        help_text="不同诉求人反映同一事件在多少天内比对；留空用平台默认（7天）。",
    )
    active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "诉求类别"
        verbose_name_plural = "诉求类别"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        if self.parent_id:
            return f"{self.parent.name}/{self.name}"
        return self.name

    @property
    def deadline_days(self) -> int:
        if self.completion_days:
            return self.completion_days
        return KIND_DEFAULTS[self.kind][0]
