"""The three-level police organisation: units, their tree and their jurisdictions."""

from django.db import models
from django.db.models import Q


class UnitType(models.TextChoices):
    CITY_BUREAU = "city_bureau", "市公安局"
    PLATFORM_OFFICE = "platform_office", "民生警务平台办公室"
    BRANCH_BUREAU = "branch_bureau", "分局/县局"
    CITY_DEPARTMENT = "city_department", "市局部门/支队"
    BRANCH_DEPARTMENT = "branch_department", "分局部门/大队"
    POLICE_STATION = "police_station", "派出所"
    TRAFFIC_BRIGADE = "traffic_brigade", "交警大队"
    SECTION = "section", "科室"
    OFFICE = "office", "办公室"


# The level follows the unit's type, not its depth: the platform office sits beside the city bureau
# at level 1, and the vehicle office under the traffic detachment is a level-3 unit.
LEVEL_OF_TYPE = {
    UnitType.CITY_BUREAU: 1,
    UnitType.PLATFORM_OFFICE: 1,
    UnitType.BRANCH_BUREAU: 2,
    UnitType.CITY_DEPARTMENT: 2,
    UnitType.BRANCH_DEPARTMENT: 3,
    UnitType.POLICE_STATION: 3,
    UnitType.TRAFFIC_BRIGADE: 3,
    UnitType.SECTION: 3,
    UnitType.OFFICE: 3,
}


class UnitFunction(models.TextChoices):
    """What a unit does, so categories can name the kind of unit that handles them."""

    GENERAL = "general", "综合"
    STATION = "station", "属地派出所"
    TRAFFIC = "traffic", "交通管理"
    VEHICLE_ADMIN = "vehicle_admin", "车驾管"
    EXIT_ENTRY = "exit_entry", "出入境"
    HOUSEHOLD = "household", "户政"
    INSPECTION = "inspection", "警务督察"
    DISCIPLINE = "discipline", "纪检监察"
    LEGAL = "legal", "法制"
    COMMAND = "command", "指挥中心"
    PLATFORM = "platform", "平台办"
    CRIMINAL = "criminal", "刑侦"


class UnitQuerySet(models.QuerySet):
    def subtree_of(self, unit: "Unit") -> "UnitQuerySet":
        """The unit and everything below it (relies on the indexed materialised ``path``)."""
        return self.filter(path__startswith=unit.path)

    def subtrees_of(self, units) -> "UnitQuerySet":
        condition = Q(pk__in=[])
        for unit in units:
            condition |= Q(path__startswith=unit.path)
        return self.filter(condition)


class Unit(models.Model):
    """A police unit. ``path`` is the materialised chain of ancestor ids, so a subtree is one prefix scan."""

    # Short names repeat across branches (two 黄河派出所: 天桥 and 章丘), so a name is unique only
    # under its parent.
    name = models.CharField("简称", max_length=64, db_index=True)
    full_name = models.CharField("全称", max_length=128, blank=True)
    type = models.CharField("类型", max_length=32, choices=UnitType.choices)
    function = models.CharField(
        "职能", max_length=32, choices=UnitFunction.choices, default=UnitFunction.GENERAL, db_index=True
    )
    level = models.PositiveSmallIntegerField("层级", editable=False)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True)
    district_code = models.CharField("所在区县代码", max_length=6, blank=True)
    jurisdictions = models.ManyToManyField(
        "divisions.Division", verbose_name="辖区", blank=True, related_name="units"
    )
    derived = models.BooleanField(
        "名称为推导", default=False, help_text="名称由街道名推导而来，未经核实（来自种子数据）。"
    )
    source = models.CharField("数据来源", max_length=512, blank=True)
    note = models.CharField("备注", max_length=512, blank=True)
    active = models.BooleanField("启用", default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="unit_name_unique_in_parent")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.level = LEVEL_OF_TYPE[UnitType(self.type)]
        old_path = self.path
        super().save(*args, **kwargs)
        new_path = (self.parent.path if self.parent_id else "") + f"{self.pk:05d}."
        if new_path != old_path:
            Unit.objects.filter(pk=self.pk).update(path=new_path)
            self.path = new_path
            # Moving a unit moves its subtree: rewrite descendants' paths in one pass.
            if old_path:
                for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                    child.path = new_path + child.path[len(old_path) :]
                    Unit.objects.filter(pk=child.pk).update(path=child.path)

    @property
    def display_name(self) -> str:
        return self.full_name or self.name

    def ancestors(self) -> list["Unit"]:
        ids = [int(part) for part in self.path.split(".") if part][:-1]
        by_id = {u.pk: u for u in Unit.objects.filter(pk__in=ids)}
        return [by_id[i] for i in ids if i in by_id]

    def supervising_unit(self) -> "Unit | None":
        """The nearest level-2 ancestor: the unit that supervises (督办) this one's cases."""
        for unit in reversed(self.ancestors()):
            if unit.level == 2:
                return unit
        return None

    def is_within(self, other: "Unit") -> bool:
        return self.path.startswith(other.path)
