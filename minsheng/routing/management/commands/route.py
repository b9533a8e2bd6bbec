"""``minsheng route --input CSV --id-column COL --text-column COL [--address-column COL] --output CSV``.

Runs the platform's triage over each row as if it had just arrived and writes
``id,category,category_confidence,district_code,township_code,community_code,unit,direct``.
"""

import csv
import time

from django.core.management.base import BaseCommand, CommandError

from minsheng.intake.batch import decode
from minsheng.routing.triage import router, triage


class Command(BaseCommand):
    help = "对 CSV 中每一行运行分类与派单（如同刚刚受理），输出建议单位与是否直派"

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--id-column", required=True)
        parser.add_argument("--text-column", action="append", required=True)
        parser.add_argument("--address-column")
        parser.add_argument("--output", required=True)

    def handle(self, *args, input, id_column, text_column, address_column, output, **options):
        try:
            with open(input, "rb") as handle:
                text = decode(handle.read(), input)
        except OSError as exc:
            raise CommandError(f"无法读取 {input}：{exc.strerror}") from None
        except Exception as exc:
            raise CommandError(str(exc)) from None
        reader = csv.DictReader(text.splitlines())
        columns = [id_column, *text_column] + ([address_column] if address_column else [])
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{input}：缺少列“{missing[0]}”（表头：{'、'.join(reader.fieldnames or [])}）")
        route = router()
        started = time.monotonic()
        rows = direct = 0
        with open(output, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "id",
                    "category",
                    "category_confidence",
                    "district_code",
                    "township_code",
                    "community_code",
                    "unit",
                    "direct",
                ]
            )
            for row in reader:
                body = "\n".join((row.get(c) or "") for c in text_column)
                result = triage(body, row.get(address_column) or "" if address_column else "")
                unit = route.by_id.get(result.unit_id)
                writer.writerow(
                    [
                        row[id_column],
                        result.category,
                        f"{result.category_confidence:.4f}",
                        result.district,
                        result.township,
                        result.community,
                        unit.display_name if unit else "",
                        int(result.direct),
                    ]
                )
                rows += 1
                direct += result.direct
                if rows % 1000 == 0:
                    self.stdout.write(f"  {rows} 行（{time.monotonic() - started:.0f} 秒）")
        self.stdout.write(
            self.style.SUCCESS(
                f"完成：{rows} 行，直派 {direct} 行（{direct / rows:.1%}），结果写入 {output}"
                if rows
                else f"完成：0 行，写入 {output}"
            )
        )
