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


class RoutingObservation(models.Model):
    """What handling taught about who answers for a category in a township (路由统计).

    ``support`` counts the evidence for the unit: it completed such a case there, a unit that returned
    one named it as the right unit, or a dispatcher sent one there instead of the suggested unit.
    ``against`` counts its returns of such cases. Triage reads these when the rules leave the unit
    open or when the handling history contradicts them (see ``routing.triage``). ``township_code`` is
    empty when the case's place was not known (used only for categories handled city-wide).
    """

    category = models.ForeignKey("categories.Category", on_delete=models.CASCADE, verbose_name="类别")
    township_code = models.CharField("街道/镇", max_length=9, blank=True)
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, verbose_name="单位")
    support = models.PositiveIntegerField("佐证次数", default=0)
    against = models.PositiveIntegerField("退单次数", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "派单统计"
        verbose_name_plural = "派单统计"
        constraints = [
            models.UniqueConstraint(
                fields=["category", "township_code", "unit"], name="routing_observation_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.category} × {self.township_code or '全市'} → {self.unit}：+{self.support}/-{self.against}"
        )
