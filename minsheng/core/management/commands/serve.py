"""``minsheng serve``: the web app (gunicorn), the background workers and the scheduler together.

Used by ``make run``. Ctrl-C (or SIGTERM) stops them all; if one dies, the others are stopped too so
that a half-running platform never looks healthy.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "启动网站、后台任务进程和调度器（Ctrl-C 全部停止）"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=2)
        # Threads overlap a request's wait for its commit with another's work. A partner pushing
        # hundreds of work orders a second is better served by plain (sync) workers, ``--threads 1``:
        # each answer costs less CPU, which the background worker registering them needs (README,
        # "Intake throughput").
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
        # On PostgreSQL two background workers: while one holds the comparison lock (comparing and
        # writing its batch), the other claims and prepares the next batch instead of leaving a core
        # idle (README, "Intake throughput"); each keeps its own duplicate index in memory. SQLite
        # runs one write transaction at a time, so a second worker would only wait.
        parser.add_argument("--bg-workers", type=int, default=os.environ.get("BG_WORKERS"))

    def handle(self, *args, port, host, workers, threads, bg_workers, **options):
        if bg_workers is None:
            bg_workers = 2 if connection.vendor == "postgresql" else 1
        bin_dir = os.path.dirname(sys.executable)
        minsheng = [sys.executable, "-m", "minsheng"]
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "minsheng.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--access-logfile",
                "-",
                "--timeout",
                "60",
            ],
            "scheduler": [*minsheng, "scheduler"],
        }
        for n in range(1, max(1, bg_workers) + 1):
            # Niced: requests come first; the queue (pushes answered on receipt, sweeps) takes the idle
            # CPU and catches up after a burst.
            commands[f"worker-{n}"] = ["nice", "-n", "10", *minsheng, "db_worker", "--interval", "1"]
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"民生警务平台已启动：http://{host}:{port}/  （Ctrl-C 停止）"))

        def stop_all(*_):
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
        try:
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} 进程已退出（代码 {process.returncode}），正在停止其他进程")
                        stop_all()
                        sys.exit(1)
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("正在停止……")
            stop_all()
