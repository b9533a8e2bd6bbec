"""Routing configuration admins edit, and the place knowledge the platform learns from its own cases."""

from django.db import models


class RoutingRule(models.Model):
    """(category × area) → unit. The most specific matching rule with the highest priority wins; with
    no rule, the category's handler kind and the station whose jurisdiction covers the place decide."""

    category = models.ForeignKey(
        "categories.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name="类别",
        help_text="留空表示任何类别（含下级类别）",
    )
    division = models.ForeignKey(
        "divisions.Division",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name="区域",
        help_text="区县、街道/镇或社区；留空表示全市",
    )
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, verbose_name="派往单位")
    priority = models.IntegerField("优先级", default=0, help_text="数值大者优先")
    active = models.BooleanField("启用", default=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "派单规则"
        verbose_name_plural = "派单规则"
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"{self.category or '任何类别'} × {self.division or '全市'} → {self.unit}"


class PlaceAlias(models.Model):
    """A name people use for a place (an estate, a market, a landmark) and where it lies, learned from
    cases a unit accepted and handled (a return is evidence against) or entered by an admin."""

    name = models.CharField("地名", max_length=64, db_index=True)
    division = models.ForeignKey("divisions.Division", on_delete=models.CASCADE, verbose_name="所在街道/社区")
    support = models.IntegerField("佐证次数", default=0)
    manual = models.BooleanField("人工确认", default=False)

    class Meta:
        verbose_name = "地名别称"
        verbose_name_plural = "地名别称"
        constraints = [models.UniqueConstraint(fields=["name", "division"], name="place_alias_unique")]

    def __str__(self) -> str:
        return f"{self.name} → {self.division}"
