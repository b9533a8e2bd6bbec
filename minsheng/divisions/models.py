"""Administrative divisions of the gazetteer (NBS 统计用区划代码): city, district, township, community."""

from django.db import models


class DivisionLevel(models.TextChoices):
    CITY = "city", "市"
    DISTRICT = "district", "区县"
    TOWNSHIP = "township", "街道/镇"
    COMMUNITY = "community", "社区/村"


class Division(models.Model):
    """One node of the gazetteer, keyed by its official code (6, 9 or 12 digits)."""

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=64)
    short_name = models.CharField("简称", max_length=64, blank=True)
    level = models.CharField("层级", max_length=16, choices=DivisionLevel.choices, db_index=True)
    kind = models.CharField(
        "类型", max_length=16, blank=True, help_text="街道/镇/区/县，或 community/village"
    )
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    district_code = models.CharField("所属区县代码", max_length=6, blank=True, db_index=True)
    township_code = models.CharField("所属街道/镇代码", max_length=9, blank=True, db_index=True)

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
