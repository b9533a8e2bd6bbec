"""``minsheng scheduler``: the one scheduler of periodic sweeps. It only enqueues; workers do the work.

Enqueued tasks live in the database (django-tasks-db), so a worker that dies mid-job loses nothing:
the next sweep finds the same cases again.
"""

import signal
import time

from django.core.management.base import BaseCommand

from minsheng.core.heartbeat import beat

# task path → interval in seconds
SCHEDULE = {
    "minsheng.cases.tasks.sweep_deadlines": 60,
    "minsheng.intake.tasks.poll_mailbox": 60,
    # Payloads left pending (a process killed mid-way, a queued task lost): each becomes one appeal.
    "minsheng.intake.tasks.process_pending": 60,
    # The outbox for ``make run`` (no sender process there); production also runs ``minsheng sms-sender``,
    # which sends within a second. Both at once are safe: senders claim rows, never share one.
    "minsheng.sms.tasks.send_pending": 10,
    "minsheng.followup.tasks.sweep": 60,
    "minsheng.followup.tasks.survey_service_records": 300,
    # The duplicate index's snapshot, so that a restart replays minutes of journal, not years.
    "minsheng.dedup.tasks.snapshot": 600,
    # The journal's rows keep their appeals' places and band keys for a day, then only the appeal's id.
    "minsheng.dedup.tasks.thin_journal": 3600,
    # Finished task rows older than two weeks (failed ones: two months).
    "minsheng.core.tasks.prune_task_results": 86400,
    # Daily; one count query when too few new labels (MINSHENG_CLASSIFIER_RETRAIN_MIN_LABELS).
    "minsheng.classification.tasks.retrain": 86400,
}


class Command(BaseCommand):
    help = "周期任务调度（到期检查等），只负责入队"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="每个任务入队一次后退出")

    def handle(self, *args, once=False, **options):
        from django.utils.module_loading import import_string

        tasks = {path: import_string(path) for path in SCHEDULE}
        last_run: dict[str, float] = {}
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            "调度器已启动：" + "，".join(f"{p.rsplit('.', 1)[-1]} 每{s}秒" for p, s in SCHEDULE.items())
        )
        while not stopping:
            now = time.monotonic()
            for path, interval in SCHEDULE.items():
                if now - last_run.get(path, -interval) >= interval:
                    tasks[path].enqueue()
                    last_run[path] = now
            beat("scheduler")
            if once:
                return
            for _ in range(10):
                if stopping:
                    break
                time.sleep(1)
        self.stdout.write("调度器已停止")
