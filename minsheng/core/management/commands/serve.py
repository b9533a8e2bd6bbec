"""``minsheng serve``: the web app (gunicorn), the background worker and the scheduler together.

Used by ``make run``. Ctrl-C (or SIGTERM) stops all three; if one dies, the others are stopped too so
that a half-running platform never looks healthy.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


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

    def handle(self, *args, port, host, workers, threads, **options):
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
            # Niced: requests come first; the queue (pushes answered on receipt, sweeps) takes the idle
            # CPU and catches up after a burst.
            "worker": ["nice", "-n", "10", *minsheng, "db_worker", "--interval", "1"],
            "scheduler": [*minsheng, "scheduler"],
        }
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
