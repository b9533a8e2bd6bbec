"""SMS throughput: outbox → sender → Kannel (smsbox → bearerbox) → fake SMS centre → ``bench/results/sms.json``.

Acceptance of issue 6: sustained ≥ 200 messages/s. The clock runs from the moment the sender(s) start
on a full outbox to the moment fakesmsc has printed the last message; ``rate_per_s`` is messages
received at the fake SMS centre per second of that interval (end to end, not the sender's side only).

Everything real and local: a scratch database of the configured engine (a SQLite file under
``bench/work/``, or the throw-away PostgreSQL database ``minsheng_bench_sms`` when DATABASE_URL is
PostgreSQL, dropped at the end), ``minsheng sms-sender`` processes, Kannel 1.4.5 from Debian started
on free ports by the test harness (``tests/kannel/harness.py``). With ``--dlr`` the app also runs
under gunicorn and Kannel calls it back with two delivery reports per message (production's load).

    .venv/bin/python bench/sms.py                       # 10,000 messages, 1 sender × 16 threads, reports on
    .venv/bin/python bench/sms.py --messages 2000 --no-dlr
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sms.py --senders 2

Kannel answers sendsms only once bearerbox has stored the message, and with delivery reports flowing
back over the same box connection that answer waits on Kannel, not on the CPU: one request in flight
gives ~60 messages/s here, sixteen give several hundred. Hence the sender's threads.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from _common import write_result  # noqa: E402

from tests.kannel import harness  # noqa: E402

TARGET_RATE = 200.0
PG_NAME = "minsheng_bench_sms"


def scratch_database() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        server = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')

        def drop():
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')

        return f"{server}/{PG_NAME}", drop
    WORK.mkdir(exist_ok=True)
    path = WORK / "sms_bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=1, help="sms-sender processes")
    parser.add_argument("--threads", type=int, default=16, help="sending threads per process")
    parser.add_argument("--batch", type=int, default=50, help="messages claimed per thread and cycle")
    parser.add_argument("--dlr", action=argparse.BooleanOptionalAction, default=True, help="delivery reports")
    parser.add_argument("--app-workers", type=int, default=2, help="gunicorn workers taking the reports")
    args = parser.parse_args()
    if not harness.available():
        sys.exit("Kannel is not installed: apt-get install -y kannel kannel-extras")

    url, drop = scratch_database()
    workdir = Path(tempfile.mkdtemp(prefix="sms-bench-"))
    chain = harness.KannelChain(workdir / "kannel", log_level=2)
    app_port = harness.free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "minsheng.settings",
        "DATABASE_URL": url,
        "MINSHENG_VAR_DIR": str(workdir / "var"),
        "SMS_SIMULATOR": "0",
        **{k: str(v) for k, v in chain.django_settings().items()},
        "KANNEL_CALLBACK_SECRET": secrets.token_hex(12),
        "KANNEL_CALLBACK_URL": f"http://127.0.0.1:{app_port}" if args.dlr else "",
        "SMS_QUIET_START": "00:00",
        "SMS_QUIET_END": "00:00",
        "SMS_RATE_PER_S": "100000",
        "SMS_BATCH": str(args.batch),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    processes: list[subprocess.Popen] = []
    try:
        print("迁移临时数据库……", flush=True)
        subprocess.run([sys.executable, "-m", "minsheng", "migrate", "--noinput", "-v0"], env=env, check=True)
        import django

        django.setup()
        from django.db import connection

        from minsheng.sms import texts
        from minsheng.sms.models import Message
        from minsheng.sms.segments import segment

        chain.start()
        if args.dlr:
            processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "gunicorn", "minsheng.wsgi:application"),
                        *(
                            "--bind",
                            f"127.0.0.1:{app_port}",
                            "--workers",
                            str(args.app_workers),
                            "--threads",
                            "4",
                        ),
                        *("--log-level", "warning"),
                    ],
                    env=env,
                    cwd=ROOT,
                )
            )
            harness._wait_port(app_port, timeout=30)

        print(f"写入发件箱 {args.messages} 条……", flush=True)
        rows = []
        for i in range(args.messages):
            # The real follow-up text (two concatenated parts, as most are), one case number each.
            spec = texts.REGISTRY["followup_case"]
            body = texts.render(spec.key, {**spec.sample, "工单编号": f"2026112700{i:05d}"})
            seg = segment(body)
            rows.append(
                Message(
                    phone=f"139{i:08d}",
                    body=body,
                    sender=env["KANNEL_FROM"],
                    purpose="bench",
                    encoding=seg.encoding,
                    length=seg.length,
                    segments=seg.segments,
                    backend="kannel",
                )
            )
        Message.objects.bulk_create(rows, batch_size=2000)
        connection.close()

        print(
            f"开始发送：{args.senders} 个发送进程 × {args.threads} 线程，状态回执{'开' if args.dlr else '关'}",
            flush=True,
        )
        started = time.monotonic()
        for _ in range(args.senders):
            processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "minsheng", "sms-sender", "--until-idle"),
                        *("--batch", str(args.batch), "--threads", str(args.threads)),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            )
        senders = processes[-args.senders :]
        for process in senders:
            process.wait()
        handed_over = time.monotonic() - started
        got = chain.wait_received(args.messages, timeout=120)
        elapsed = time.monotonic() - started
        received = len(got)
        duplicates = received - len({r.text for r in got})
        sent = Message.objects.filter(state__in=("sent", "delivered")).count()
        delivered = Message.objects.filter(state="delivered").count()
        if args.dlr:
            deadline = time.monotonic() + 60
            while delivered < sent and time.monotonic() < deadline:
                time.sleep(0.5)
                delivered = Message.objects.filter(state="delivered").count()
        rate = received / elapsed
        figures = {
            "rate_per_s": round(rate, 1),
            "target_rate_per_s": TARGET_RATE,
            "meets_target": rate >= TARGET_RATE and received == args.messages and duplicates == 0,
            "messages": args.messages,
            "received_at_fakesmsc": received,
            "duplicates_at_fakesmsc": duplicates,
            "seconds_end_to_end": round(elapsed, 2),
            "seconds_until_all_handed_to_kannel": round(handed_over, 2),
            "sender_rate_per_s": round(sent / handed_over, 1),
            "senders": args.senders,
            "threads_per_sender": args.threads,
            "batch": args.batch,
            "delivery_reports": args.dlr,
            "dlr_mask": int(env.get("KANNEL_DLR_MASK", "31")) if args.dlr else None,
            "app_workers": args.app_workers if args.dlr else None,
            "delivered_by_report": delivered if args.dlr else None,
            "parts_per_message": rows[0].segments,
            "kannel": "1.4.5 (Debian), bearerbox + smsbox + fakesmsc on loopback",
        }
        write_result("sms", figures)
        if not figures["meets_target"]:
            sys.exit(1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        chain.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django never set up: nothing to close
            pass
        drop()


if __name__ == "__main__":
    main()
