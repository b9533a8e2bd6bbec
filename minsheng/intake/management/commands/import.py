"""``minsheng import CHANNEL FILE``: batch import for a batch channel (CSV or XLSX)."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minsheng.intake.batch import BATCH_CHANNELS, BatchError, import_file
from minsheng.intake.models import Partner


class Command(BaseCommand):
    help = "批量导入（12345、纪委热线工单；110、窗口服务记录），CSV 或 XLSX，UTF-8 或 GB18030"

    def add_arguments(self, parser):
        parser.add_argument("channel", choices=sorted(BATCH_CHANNELS))
        parser.add_argument("file")
        parser.add_argument("--partner", help="对接系统代码（决定字段映射与来源）")

    def handle(self, *args, channel, file, partner=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        partner_obj = None
        if partner:
            partner_obj = Partner.objects.filter(code=partner).first()
            if partner_obj is None:
                raise CommandError(f"未知的对接系统：{partner}")
        started = time.monotonic()

        def progress(rows: int) -> None:
            self.stdout.write(f"  已读取 {rows} 行（{time.monotonic() - started:.0f} 秒）")

        try:
            batch = import_file(channel, path.read_bytes(), path.name, partner=partner_obj, progress=progress)
        except BatchError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}：共 {batch.rows} 行，导入 {batch.imported} 行，已导入过 {batch.duplicates} 行，"
                f"拒收 {batch.rejected} 行，用时 {time.monotonic() - started:.1f} 秒。"
            )
        )
        if batch.rejected:
            self.stdout.write(f"拒收明细（行号、列、原因）：{batch.rejections.path}")
