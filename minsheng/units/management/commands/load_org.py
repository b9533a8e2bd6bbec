"""``minsheng load-org jinan``: the Jinan gazetteer, police units and default categories.

Idempotent: a second run updates names and codes and keeps what admins added.
"""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from minsheng.categories.loading import load_default_categories
from minsheng.divisions.models import Division, DivisionLevel
from minsheng.units.models import Unit, UnitFunction, UnitType

FIXTURES = {
    "jinan": (
        Path(__file__).resolve().parents[3] / "divisions" / "fixtures" / "jinan",
        Path(__file__).resolve().parents[3] / "units" / "fixtures" / "jinan",
    )
}
PLATFORM_OFFICE = "民生警务平台办公室"

# Units whose function is known from their name; stations and brigades follow their type.
FUNCTION_BY_NAME = {
    "交通警察支队": UnitFunction.TRAFFIC,
    "车辆管理所": UnitFunction.VEHICLE_ADMIN,
    "出入境管理支队": UnitFunction.EXIT_ENTRY,
    "警务督察支队": UnitFunction.INSPECTION,
    "纪检监察部门": UnitFunction.DISCIPLINE,
    "法制支队": UnitFunction.LEGAL,
    "指挥中心": UnitFunction.COMMAND,
    "户政/人口管理部门": UnitFunction.HOUSEHOLD,
    "刑事侦查支队": UnitFunction.CRIMINAL,
    "刑侦大队": UnitFunction.CRIMINAL,
    PLATFORM_OFFICE: UnitFunction.PLATFORM,
}
FUNCTION_BY_TYPE = {
    UnitType.POLICE_STATION: UnitFunction.STATION,
    UnitType.TRAFFIC_BRIGADE: UnitFunction.TRAFFIC,
}


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        raise CommandError(f"找不到组织数据文件：{path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


class Command(BaseCommand):
    help = "载入组织机构与行政区划（目前支持 jinan）"

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(FIXTURES), help="组织数据集名称")

    @transaction.atomic
    def handle(self, *args, name, **options):
        division_dir, unit_dir = FIXTURES[name]
        divisions = self._load_divisions(division_dir)
        units = self._load_units(unit_dir)
        categories = load_default_categories()
        self.stdout.write(
            self.style.SUCCESS(f"完成：行政区划 {divisions} 条，单位 {units} 个，新增类别 {categories} 个。")
        )

    def _load_divisions(self, folder: Path) -> int:
        rows = _rows(folder / "divisions.csv")
        order = {"city": 0, "district": 1, "township": 2}
        rows.sort(key=lambda r: order[r["level"]])
        objects = []
        for line, row in enumerate(rows, start=2):
            level = row["level"]
            if level not in order:
                raise CommandError(f"divisions.csv 第{line}行 level 字段无效：{level!r}")
            code = row["code"]
            objects.append(
                Division(
                    code=code,
                    name=row["name"],
                    short_name=row.get("mca_name") or row["name"],
                    level=level,
                    kind=row["kind"],
                    parent_id=row["parent_code"] if level != "city" else None,
                    district_code=code[:6] if level != "city" else "",
                    township_code=code if level == "township" else "",
                )
            )
        self._upsert(objects)
        communities = _rows(folder / "communities.csv")
        objects = [
            Division(
                code=row["code"],
                name=row["name"],
                short_name=row["short_name"],
                level=DivisionLevel.COMMUNITY,
                kind=row["level"],
                parent_id=row["parent_code"],
                district_code=row["district_code"],
                township_code=row["parent_code"],
            )
            for row in communities
        ]
        for start in range(0, len(objects), 1000):
            self._upsert(objects[start : start + 1000])
        self.stdout.write(f"  行政区划：{len(rows)} 个区县/街道，{len(communities)} 个社区/村")
        return len(rows) + len(communities)

    @staticmethod
    def _upsert(objects):
        Division.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name", "short_name", "level", "kind", "parent", "district_code", "township_code"],
        )

    def _load_units(self, folder: Path) -> int:
        rows = _rows(folder / "police_units.csv")
        rows.append(
            {
                "name": PLATFORM_OFFICE,
                "type": UnitType.PLATFORM_OFFICE,
                "parent": "济南市公安局",
                "district_code": "370100",
                "source": "product",
                "full_name": "济南市公安局民生警务平台办公室",
                "township_code": "",
                "note": "",
            }
        )
        # Parents are referenced by short name; only units that have children need a unique one.
        parent_rows: dict[str, int] = {}
        for index, row in enumerate(rows):
            parent_rows.setdefault(row["name"], index)
        city = next(row["name"] for row in rows if row["type"] == UnitType.CITY_BUREAU)
        for row in rows:
            if not row["parent"] and row["type"] != UnitType.CITY_BUREAU:
                # The sources do not say which branch it belongs to (天下第一泉风景区派出所): hang it under
                # the city bureau so it is visible and dispatchable until an admin places it.
                row["parent"] = city
                row["note"] = ((row.get("note") or "") + "；上级单位待管理员核定").lstrip("；")
        units: dict[int, Unit] = {}

        def ensure(index: int) -> Unit:
            if index in units:
                return units[index]
            row = rows[index]
            parent = ensure(parent_rows[row["parent"]]) if row["parent"] else None
            unit_type = UnitType(row["type"])
            function = FUNCTION_BY_NAME.get(row["name"]) or FUNCTION_BY_TYPE.get(
                unit_type, UnitFunction.GENERAL
            )
            unit, _ = Unit.objects.update_or_create(
                name=row["name"],
                parent=parent,
                defaults={
                    "full_name": row.get("full_name") or "",
                    "type": unit_type,
                    "function": function,
                    "district_code": row.get("district_code") or "",
                    "derived": row["source"].startswith("derived"),
                    "source": row["source"][:512],
                    "note": (row.get("note") or "")[:512],
                },
            )
            units[index] = unit
            return unit

        for index, row in enumerate(rows):
            if row["parent"] and row["parent"] not in parent_rows:
                raise CommandError(
                    f"police_units.csv 第{index + 2}行 parent 字段：找不到上级单位“{row['parent']}”"
                )
            ensure(index)
        codes = [r["township_code"] for r in rows if r.get("township_code")]
        codes += [r["district_code"] for r in rows if r.get("district_code")]
        divisions = Division.objects.in_bulk(codes)
        for index, row in enumerate(rows):
            unit = units[index]
            # A station answers for its township (and so for its communities); a branch bureau or a
            # traffic brigade for its district.
            code = row.get("township_code") if unit.type == UnitType.POLICE_STATION else None
            if not code and unit.type in (UnitType.BRANCH_BUREAU, UnitType.TRAFFIC_BRIGADE):
                code = row.get("district_code")
            if code and code in divisions:
                unit.jurisdictions.add(divisions[code])
        derived = sum(1 for u in units.values() if u.derived)
        self.stdout.write(f"  单位：{len(units)} 个（其中名称为推导的 {derived} 个，已在管理页面标注）")
        return len(units)
