"""``minsheng sms-sender``: the long-running SMS sender (production). Claims, sends, recovers; beats.

Kannel answers a sendsms request only once bearerbox has stored the message, and with delivery reports
flowing back over the same box connection each answer takes milliseconds of waiting, not of work. One
request at a time leaves the gateway idle, so the sender runs several threads (``--threads``), each its
own claim loop with its own connections: the claims keep them from ever taking the same message.
"""

import os
import signal
import socket
import threading
import time

from django.core.management.base import BaseCommand
from django.db import connections

from minsheng.core.heartbeat import beat

HEARTBEAT_EVERY_S = 10


class Command(BaseCommand):
    help = "短信发送进程：从发件箱领取短信并提交网关（可多线程、多进程并行）"

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=8, help="并行发送线程数（默认8）")
        parser.add_argument("--until-idle", action="store_true", help="没有可发短信时退出")
        parser.add_argument("--max-seconds", type=float, default=0, help="最长运行秒数（0 为不限）")
        parser.add_argument("--idle-sleep", type=float, default=0.5, help="空闲时的等待秒数")
        parser.add_argument("--batch", type=int, default=0, help="每轮领取条数（默认按配置）")

    def handle(self, *args, threads=8, until_idle=False, max_seconds=0, idle_sleep=0.5, batch=0, **options):
        from minsheng.sms.sender import Sender

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        started = time.monotonic()
        totals = {"sent": 0}
        lock = threading.Lock()
        name = f"{socket.gethostname()}:{os.getpid()}"

        def loop(index: int) -> None:
            sender = Sender(batch=batch or None, worker=f"{name}:{index}")
            try:
                while not stop.is_set():
                    stats = sender.run_once()
                    with lock:
                        totals["sent"] += stats.sent
                    if max_seconds and time.monotonic() - started >= max_seconds:
                        break
                    if not stats.busy:
                        if until_idle:
                            break
                        pause = idle_sleep if not stats.gateway_down else min(5.0, sender.gateway_backoff_s)
                        stop.wait(pause)
            finally:
                sender.close()
                connections.close_all()

        workers = [
            threading.Thread(target=loop, args=(i,), name=f"sms-sender-{i}") for i in range(max(1, threads))
        ]
        for worker in workers:
            worker.start()
        last_beat = 0.0
        # The main thread only beats and waits, so SIGTERM is handled at once.
        while any(worker.is_alive() for worker in workers):
            if time.monotonic() - last_beat >= HEARTBEAT_EVERY_S:
                beat("sms_sender", f"{name} threads={len(workers)} sent={totals['sent']}")
                last_beat = time.monotonic()
            for worker in workers:
                worker.join(timeout=0.2)
        connections.close_all()
        self.stdout.write(f"短信发送进程结束：本次发送 {totals['sent']} 条")
