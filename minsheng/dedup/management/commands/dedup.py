"""``minsheng dedup groups``: group the rows of a CSV into matters with the intake detector."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minsheng.dedup.cli import Columns, run_groups


class Command(BaseCommand):
    help = "Duplicate detection over CSV files (自动比对)."
    # Pure file processing: works before migrations and without a database.
    requires_system_checks = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        groups = sub.add_parser(
            "groups",
            help="write id,group_id for every row; rows sharing a group_id are one matter",
            description=(
                "Runs the intake duplicate detector over the rows in time order (rows without a time "
                "keep their input position) and writes id,group_id for every row in input order. "
                "Input: UTF-8 or GB18030 CSV; missing cells are allowed."
            ),
        )
        groups.add_argument("--input", required=True)
        groups.add_argument("--output", required=True)
        groups.add_argument("--id-column", required=True)
        groups.add_argument("--text-column", action="append", required=True, help="repeat to join several")
        groups.add_argument("--time-column")
        groups.add_argument("--phone-column")
        groups.add_argument("--place-column", help="address as written")
        groups.add_argument("--channel-column")
        groups.add_argument("--id-number-column", help="ID card number (optional)")
        groups.add_argument("--category-column", help="category path such as public_order/noise (optional)")
        sub.add_parser(
            "rebuild",
            help="rebuild the intake index from the database and save it as the snapshot",
            description=(
                "Reads every appeal from the database into a fresh index and writes the snapshot that "
                "processes load at start (DEDUP_INDEX_DIR). Safe while the platform runs."
            ),
        )

    def handle(self, *args, **options):
        if options["action"] == "rebuild":
            return self.rebuild()
        if options["action"] != "groups":  # pragma: no cover - argparse enforces the choice
            raise CommandError(f"unknown action {options['action']}")
        cols = Columns(
            id=options["id_column"],
            text=options["text_column"],
            time=options.get("time_column"),
            phone=options.get("phone_column"),
            place=options.get("place_column"),
            channel=options.get("channel_column"),
            id_number=options.get("id_number_column"),
            category=options.get("category_column"),
        )
        try:
            run_groups(
                options["input"],
                options["output"],
                cols,
                tz=ZoneInfo(settings.TIME_ZONE),
                out=self.stderr,
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def rebuild(self):
        import time

        from minsheng.dedup import service

        started = time.monotonic()

        def progress(n: int) -> None:
            self.stderr.write(f"\r已读入 {n:,} 件诉求", ending="")
            self.stderr.flush()

        index = service.rebuild(progress=progress)
        self.stderr.write("")
        path = index.saved
        self.stdout.write(
            f"比对索引已重建：{len(index.detector):,} 件诉求，日志位置 {index.cursor}，"
            f"用时 {time.monotonic() - started:.1f} 秒，快照 {path}"
        )
