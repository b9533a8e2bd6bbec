"""Acceptance: a sender killed with SIGKILL mid-send loses nothing and sends nothing twice.

Real processes throughout, on a scratch database of the engine under test (a SQLite file, or a
throw-away PostgreSQL database when DATABASE_URL is PostgreSQL): the app under gunicorn receives
Kannel's delivery reports; ``killable_sender.py`` (the real sender, paused at a chosen point of its
3rd send) is killed with SIGKILL; a fresh ``minsheng sms-sender`` recovers. Counted at fakesmsc.

- after_accept: Kannel answered 202, our row still says "sending". Must not be sent again.
- before_request: the row says "sending", no request was made. Must be sent (once).
- in_store: as after_accept, with the SMS centre down, so the message sits in bearerbox's store and no
  delivery report can settle it: recovery must find it in the store, and not send it again.
"""

import json
import os
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.kannel import harness

ROOT = Path(__file__).resolve().parents[2]
N = 10


@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory, kannel_binaries):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"minsheng_smskill_{secrets.token_hex(4)}"
        server = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield f"{server}/{name}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('smskill') / 'kill.sqlite3'}"


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=20) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def app(scratch_db, tmp_path_factory):
    """The app (migrated scratch database) under gunicorn, for Kannel's delivery reports."""
    var = tmp_path_factory.mktemp("smskill-var")
    port = harness.free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "minsheng.settings",
        "DATABASE_URL": scratch_db,
        "MINSHENG_VAR_DIR": str(var),
        "SMS_BACKEND": "kannel",
        "SMS_SIMULATOR": "0",
        "KANNEL_CALLBACK_SECRET": secrets.token_hex(12),
        "KANNEL_CALLBACK_URL": f"http://127.0.0.1:{port}",
        "KANNEL_PASSWORD": "set-per-chain",
        "KANNEL_ADMIN_URL": "http://127.0.0.1:9",  # set per chain too
        "SMS_QUIET_START": "00:00",
        "SMS_QUIET_END": "00:00",
        "SMS_LEASE_S": "2",
        "SMS_INDOUBT_GRACE_S": "3",  # production: 30 s for a delivery report to reach us
        "SMS_RECOVER_EVERY_S": "0",
        "SMS_RATE_PER_S": "1000",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "minsheng", "migrate", "--noinput", "-v0"], env=env, check=True, timeout=300
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "minsheng.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    harness._wait_port(port, timeout=30)
    # The first request imports every view: served now, not when the first delivery report comes
    # (on a slow machine that outlasted the grace below, and the report's message was sent again).
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as response:
        assert response.status == 200
    yield env
    server.terminate()
    server.wait(timeout=10)


SEED = """
import json, os
from minsheng.sms import outbox
for i, text in enumerate(json.loads(os.environ["SEED_TEXTS"])):
    outbox.enqueue(f"1390531{i:04d}", text, purpose="drill")
"""


def seed(env: dict, texts: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "minsheng", "shell", "-c", SEED],
        env={**env, "SEED_TEXTS": json.dumps(texts, ensure_ascii=False)},
        check=True,
        timeout=60,
    )


def wait_line(process: subprocess.Popen, timeout: float = 30) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        pytest.fail("the sender never reached the pause")
    return process.stdout.readline().strip()


@pytest.mark.parametrize("mode", ["after_accept", "before_request", "in_store"])
def test_a_sender_killed_mid_send_loses_nothing_and_duplicates_nothing(app, mode, tmp_path):
    url = app["DATABASE_URL"]
    query(url, "DELETE FROM sms_deliveryreport")
    query(url, "DELETE FROM sms_message")
    chain = harness.KannelChain(tmp_path / "kannel").start()
    env = {**app, **{k: str(v) for k, v in chain.django_settings().items()}}
    try:
        if mode == "in_store":
            chain.stop_smsc()  # the SMS centre is down: accepted messages wait in bearerbox's store
        texts = [
            f"【济南公安】断电演练（{mode}）第{i}条：请回复1满意，2基本满意，3不满意。" for i in range(N)
        ]
        seed(env, texts)
        killable = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "kannel" / "killable_sender.py"),
                mode.replace("in_store", "after_accept"),
                "3",
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = wait_line(killable)
        assert line.startswith("PAUSED "), line
        paused = int(line.split()[1])
        os.kill(killable.pid, signal.SIGKILL)
        killable.wait(timeout=10)
        states = dict(query(url, "SELECT id, state FROM sms_message"))
        if mode != "after_accept":  # (after_accept: the delivery report may already have settled it)
            assert states[paused] == "sending"
        assert (
            list(states.values()).count("claimed") >= 1
        )  # the rest of its batch was held by the dead sender

        recovering = subprocess.Popen(
            [sys.executable, "-m", "minsheng", "sms-sender", "--idle-sleep", "0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 40
            while True:
                pending = query(
                    url, "SELECT count(*) FROM sms_message WHERE state NOT IN ('sent', 'delivered')"
                )[0][0]
                if pending == 0:
                    break
                assert time.monotonic() < deadline, dict(query(url, "SELECT id, state FROM sms_message"))
                time.sleep(0.2)
            if mode == "in_store":
                [(response,)] = query(url, f"SELECT gateway_response FROM sms_message WHERE id = {paused}")
                assert response.startswith("核实：网关已接收")
                chain.start_smsc()  # the SMS centre is back: the store drains
            chain.wait_received(N, timeout=30)
            time.sleep(1.5)  # a duplicate would arrive by now
        finally:
            recovering.send_signal(signal.SIGTERM)
            recovering.wait(timeout=15)
        counts = Counter(r.text for r in chain.received())
        assert counts == Counter(texts), counts  # every message, each exactly once
        [(attempts,)] = query(url, f"SELECT attempts FROM sms_message WHERE id = {paused}")
        assert attempts == (2 if mode == "before_request" else 1)
    finally:
        chain.stop()
