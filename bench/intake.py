"""Intake throughput on PostgreSQL → ``bench/results/intake.json`` (acceptance of issue 3).

(a) Signed partner pushes (``POST /api/v1/intake/partners/jn12345/work-orders/``) against gunicorn with
    2 workers of 4 threads each, as ``minsheng serve`` runs it (``--threads 1``: sync workers). The
    partner answers on receipt (``Partner.answer_on_receipt``, README "Intake"): a push is acknowledged
    (202: signature checked, payload committed with its processing queued, fields checked, a repeated
    work order looked up) and the ``db_worker`` processes (``--bg-workers``, 2 under ``nice`` as
    ``minsheng serve`` starts them on PostgreSQL) register them meanwhile, 200 at a time: appeal, case,
    duplicate detection, triage, direct dispatch. Two phases:

    - **sustained** (``--rate``, default 300/s): the clients are paced to offer that many pushes a
      second for ``--duration`` s. ``push_rate_per_s`` is the appeals registered per second in that
      window (at most the pushes acknowledged in it), ``push_p*_ms`` the partner's wait for its answer;
      ``registration_delay_*`` is how long an acknowledged push waited for its appeal (it stays short
      when the worker keeps up and grows with the window when it does not), ``unregistered_at_window_end``
      what was still waiting then. The target is ≥ 300/s with p99 ≤ 100 ms.
    - **capacity** (closed loop, as fast as the clients go): ``ack_capacity_*`` are the acknowledgements
      alone; ``processed_*`` what the worker finished during that push and afterwards with the machine
      to itself (``processed_rate_per_s``, at most ``--drain`` s), with its CPU per appeal.

    ``--sync`` measures the synchronous answer instead (201 with the case number: the whole
    processing in the request). Texts (``--text``): clauses of the Teddy Cup 2020 messages recombined
    (read from ``../shared`` at run time, never stored; the 15 templates when absent), a title and 5–14
    clauses (median ~180 characters, as the messages), every community of the Jinan gazetteer as the
    place, 8 % of the work orders retelling a recent one (another caller about the same matter).
(b) ``minsheng import service_window FILE`` of a generated 1,000,000-row CSV, timed end to end as a
    subprocess (target ≤ 90 s).
(c) django-helpdesk from PyPI, in its own virtualenv ``bench/.venv-helpdesk``, creating tickets through
    its DRF API under gunicorn with 2 workers, driven by the same client, concurrency, duration and
    text as (a); its rate and the ratio are reported.

Everything runs on this machine against 127.0.0.1 only: throw-away databases ``minsheng_bench_intake``
and ``helpdesk_bench`` (dropped at the end unless ``--keep``), generated files under ``bench/work/``.
The load generator is a set of processes, one keep-alive HTTP/1.1 connection each (``_Http``): a client
sends its next request when the previous answer arrived, and in the sustained phase not before its time.
On a small machine it shares the CPU with gunicorn and PostgreSQL (and with whatever else runs
there), so besides the rates the bench measures the CPU each request cost the server, its database
backends and the clients, and the share of the machine that other jobs took meanwhile
(``*_other_cpu_share``).

    .venv/bin/python bench/intake.py                          # everything; ~8 minutes on 2 cores
    .venv/bin/python bench/intake.py --skip-import --skip-helpdesk --duration 10   # quick push check
    .venv/bin/python bench/intake.py --rows 100000            # smaller import (import_1m_s stays null)
    .venv/bin/python bench/intake.py --threads 1              # sync workers instead of gthread × 4
    .venv/bin/python bench/intake.py --sync --skip-import --skip-helpdesk   # the synchronous answer
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import json
import math
import multiprocessing
import os
import random
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from _common import write_result  # noqa: E402

from minsheng.intake import signing  # noqa: E402  (pure stdlib: safe before Django is set up)

SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_MAIN = "minsheng_bench_intake"
DB_HELPDESK = "helpdesk_bench"
PARTNER_CODE = "jn12345"
PUSH_PATH = f"/api/v1/intake/partners/{PARTNER_CODE}/work-orders/"
HELPDESK_VENV = BENCH / ".venv-helpdesk"
HELPDESK_SITE = WORK / "helpdesk_site"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TARGET_RATE, TARGET_P99_MS, TARGET_IMPORT_S = 300.0, 100.0, 90.0
BG_NICE = 10  # as ``minsheng serve`` starts the worker
# Requests a second that the clients build before a closed-loop run (about twice the fastest answer
# rate seen here); past them they build on the way.
PREPARED_PER_S = 800
MAX_REQUESTS_PER_CLIENT = 200_000  # a hard stop for each client loop, far above what a run reaches
BAD_ROW_EVERY = 5_000  # one row in this many is deliberately bad, so the rejections path is measured too

DIVISIONS = ROOT / "minsheng" / "divisions" / "fixtures" / "jinan"
UNITS = ROOT / "minsheng" / "units" / "fixtures" / "jinan" / "police_units.csv"


# --- realistic text ------------------------------------------------------------------------------------
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
WORK_ORDER_TEMPLATES = (
    (
        "噪音扰民",
        "{place}附近的烧烤摊每天晚上经营到凌晨两三点，喧哗声很大，严重影响周边居民休息，希望派出所尽快处理。",
    ),
    ("噪音扰民", "反映{place}有商户使用高音喇叭招揽顾客，从早到晚不停，多次沟通无果，请求民警到现场制止。"),
    ("违停", "{place}路口长期有车辆乱停乱放，占用消防通道和人行道，早晚高峰经常堵死，请交警部门加强管理。"),
    ("违停", "{place}小区门口有几辆大货车常年停放，挡住出入口，老人孩子出入很危险，希望尽快清理。"),
    (
        "电信网络诈骗",
        "本人在{place}居住，昨天接到自称客服的电话，对方要求转账退款，已被骗走人民币三千余元，请求立案侦查。",
    ),
    ("邻里纠纷", "{place}楼上住户长期往楼下扔垃圾，协商多次没有结果，双方差点动手，希望社区民警帮助调解。"),
    ("盗窃", "本人电动车停放在{place}楼下，今天早上发现被盗，车辆为蓝色，请民警调取监控帮助查找。"),
    ("治安隐患", "{place}一处废弃厂房经常有不明人员聚集，夜间有人饮酒滋事，存在安全隐患，请加强巡逻。"),
    ("户口", "咨询在{place}购房后如何办理户口迁入，需要准备哪些材料，是否可以网上办理，在哪个派出所办理。"),
    ("居住证", "外地来济务工人员，现住{place}，想咨询居住证的办理条件、所需材料和办理时限。"),
    ("身份证", "家中老人行动不便，住在{place}，身份证过期需要换领，能否申请民警上门办理。"),
    ("护照", "咨询护照到期换发的流程，本人户籍在{place}，是否可以在济南任意出入境窗口办理，需要预约吗。"),
    ("拥堵", "{place}学校门口上下学时段接送车辆拥堵严重，建议增派警力疏导，或者调整信号灯配时。"),
    ("交通设施", "{place}路口的红绿灯损坏已经一周，行人过马路非常危险，请尽快维修。"),
    ("", "反映{place}有人冒充民警上门推销所谓防盗设备，收费很高，怀疑是诈骗，请核实处理。"),
)
SERVICE_TYPES = {
    "户政": ("户口迁移", "身份证申领", "身份证换领", "户籍证明", "出生登记"),
    "出入境": ("护照申领", "港澳通行证签注", "台湾通行证申领", "护照换发"),
    "车管": ("机动车注册登记", "机动车转移登记", "补领号牌", "机动车检验合格标志"),
    "驾管": ("驾驶证换证", "驾驶证补证", "驾驶证审验", "体检信息录入"),
    "交管": ("违法处理", "事故认定书领取", "罚款缴纳"),
}
KIND_TEXTS = ("户政", "出入境", "车管", "驾管", "交管", "户政窗口", "出入境窗口", "车管窗口")
OUTCOMES = ("办结", "已受理", "补充材料后办结", "当场办结", "预约再次办理", "")


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_places() -> list[str]:
    """Place phrases as callers say them: district + township (+ community) + a house number."""
    divisions = _read_csv(DIVISIONS / "divisions.csv")
    names = {row["code"]: row["name"] for row in divisions}
    townships = [row for row in divisions if row["level"] == "township"]
    by_township: dict[str, list[str]] = {}
    for row in _read_csv(DIVISIONS / "communities.csv"):
        if row["short_name"]:
            # Callers say 泺口社区 or 大桥村, as the full name (…社区居民委员会 / …村民委员会) has it.
            suffix = "社区" if "社区" in row["name"] else "村" if "村" in row["name"] else ""
            name = row["short_name"]
            by_township.setdefault(row["parent_code"], []).append(
                name if name.endswith(suffix) else name + suffix
            )
    rng = random.Random(7)
    places = []
    for township in townships:
        district = names.get(township["code"][:6], "")
        places.append(f"{district}{township['name']}")
        communities = by_township.get(township["code"], [])
        for community in communities:
            places.append(f"{rng.choice((district, ''))}{township['name']}{community}")
    return places


def load_units() -> list[str]:
    """Unit names as window systems write them: short or full names of stations and admin units."""
    names = []
    for row in _read_csv(UNITS):
        names.append(row["name"])
        if row["full_name"] and row["full_name"] != row["name"]:
            names.append(row["full_name"])
    return names


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.85:
        return rng.choice(("139", "138", "137", "135", "136", "150", "152", "158", "186", "187", "188")) + (
            f"{rng.randrange(10**8):08d}"
        )
    if roll < 0.95:
        return f"0531-8{rng.randrange(10**7):07d}"
    return ""


# Real citizens' words when the Teddy Cup messages are at hand (read at run time, never copied): their
# length and variety are what duplicate detection meets in production, where the 15 templates above
# make every appeal a candidate of many others. Read once, before the clients fork.
TEDDY = ROOT.parent / "shared" / "data" / "teddycup2020"
CLAUSES: list[str] = []  # clauses of the messages, when ``--text teddy``
TITLES: list[str] = []
RETELL_SHARE = 0.08  # a work order that retells a recent one (another caller, the same matter)
_recent: list[dict] = []  # this client's recent work orders (each client is its own process)


def load_messages() -> int:
    """Clauses and titles of the messages. A work order recombines a few of them: a run takes tens of
    thousands of work orders, more than there are messages, and a message drawn twice would be a
    duplicate that the detector rightly links (half the appeals, in a first try).

    A title or clause that names a place of its own (a community, road or landmark of the message it
    came from; its pseudonymised city and district stay) is left out: a work order is about the one
    place it is given, and recombined clauses would have each name four or five unrelated places, which
    every other work order drawing the same clauses would seem to share (10 % of the clauses, half of
    the titles)."""
    from dedup_labelled import load_messages as teddy_messages

    from minsheng.dedup.places import SPECIFIC_KINDS, default_gazetteer, extract_places

    gazetteer = default_gazetteer()
    CLAUSES.clear()
    TITLES.clear()
    messages = teddy_messages(TEDDY)

    def placeless(text: str) -> bool:
        return not any(p.kind in SPECIFIC_KINDS for p in extract_places(text, gazetteer))

    for message in messages:
        if message.title and placeless(message.title):
            TITLES.append(message.title)
        CLAUSES.extend(
            c for c in re.split(r"(?<=[，。！？；])", message.detail) if 6 <= len(c) <= 80 and placeless(c)
        )
    return len(messages)


def work_order(rng: random.Random, places: list[str], ref: str, now: dt.datetime) -> dict:
    """One 12345 work order in the partner's own field names (the default mapping)."""
    received = now - dt.timedelta(seconds=rng.randrange(60, 3 * 86400))
    common = {
        "工单编号": ref,
        "来电时间": received.strftime("%Y-%m-%d %H:%M:%S"),
        "来电人": person(rng),
        "来电号码": phone(rng),
        "办理时限": "5个工作日",
    }
    if _recent and rng.random() < RETELL_SHARE:
        told = rng.choice(_recent)
        clauses = [c for c in re.split(r"(?<=[，。！？；])", told["诉求内容"]) if c]
        if len(clauses) > 2:
            clauses.pop(rng.randrange(1, len(clauses)))
        return {**told, **common, "诉求内容": "".join(clauses)}
    place = rng.choice(places)
    house = f"{rng.randrange(1, 40)}号楼{rng.randrange(1, 6)}单元"
    if CLAUSES:
        # About as long as a message: a title and five to fourteen clauses (median ~180 characters with
        # the place; the messages' is ~220).
        body = "".join(rng.sample(CLAUSES, rng.randint(5, 14)))
        hint, content = "", f"{rng.choice(TITLES)}。{place}{house}，{body}"
    else:
        hint, template = rng.choice(WORK_ORDER_TEMPLATES)
        content = template.format(place=place)
    order = {**common, "诉求内容": content, "诉求地址": f"{place}{house}", "诉求类型": hint}
    _recent.append(order)
    if len(_recent) > 200:
        _recent.pop(0)
    return order


# --- databases -------------------------------------------------------------------------------------------
def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def recreate_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main_env() -> dict[str, str]:
    """Environment of every minsheng process of the bench: the bench database, production-like settings."""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_MAIN}",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        # Media (the import's rejections file) and the like go under bench/work, not the dev var/.
        "MINSHENG_VAR_DIR": str(WORK / "var"),
        "DJANGO_SETTINGS_MODULE": "minsheng.settings",
    }


def setup_main(*, on_receipt: bool = True) -> dict:
    """Fresh database, migrated, Jinan organisation loaded, one 12345 partner; returns its key."""
    recreate_database(DB_MAIN)
    env = main_env()
    minsheng = str(ROOT / ".venv" / "bin" / "minsheng")
    subprocess.run([minsheng, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=600)
    subprocess.run([minsheng, "load-org", "jinan"], env=env, cwd=ROOT, check=True, timeout=600)
    script = textwrap.dedent(f"""
        import json
        from minsheng.intake.models import Partner
        p, _ = Partner.objects.get_or_create(code={PARTNER_CODE!r},
            defaults={{"name": "济南12345热线", "channel": "hotline_12345"}})
        Partner.objects.filter(pk=p.pk).update(answer_on_receipt={on_receipt!r})
        print(json.dumps({{"key_id": p.key_id, "secret": p.secret}}))
    """)
    out = subprocess.run(
        [minsheng, "shell", "-c", script],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def commit_ms(samples: int = 50) -> float:
    """Median time of a one-row INSERT and its COMMIT: the floor under every durable write (each push
    commits the raw payload with its queued task; the appeal is a second commit, in the request when it
    answers synchronously, in the worker otherwise)."""
    times = []
    with psycopg.connect(f"{SERVER}/{DB_MAIN}", autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (x int)")
        for _ in range(samples):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            times.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_commit_probe")
    return round(statistics.median(times) * 1000, 2)


def database_version() -> str:
    with _admin() as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]


# --- gunicorn --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    gunicorn: Path, app: str, port: int, env: dict, cwd: Path, threads: int = 1
) -> subprocess.Popen:
    """2 workers, as the acceptance says. One thread: sync workers, one request at a time each; more:
    gthread workers, whose threads overlap one request's waits (commit, queries) with another's work."""
    command = [str(gunicorn), app, "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", "--timeout", "60"]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    return subprocess.Popen(command, env=env, cwd=cwd)


def wait_until_up(
    port: int, path: str, process: subprocess.Popen, headers: dict | None = None, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers or {})
            status = conn.getresponse().status
            conn.close()
            if status < 400:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {path} within {timeout_s:.0f} s")


def stop(process: subprocess.Popen | None) -> None:
    """TERM to the gunicorn master (it stops its workers), KILL if it does not go within 20 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- load generator --------------------------------------------------------------------------------------
# A request maker: (rng, client index, sequence number) → (path, body, headers). Run in forked children.
RequestMaker = Callable[[random.Random, int, int], tuple[str, bytes, dict[str, str]]]


class _Http:
    """An HTTP/1.1 client on one keep-alive connection, as lean as a load generator should be: each
    request goes out as bytes built beforehand, the answer is read by its Content-Length (or its
    chunks). Built on the way with ``http.client`` (which parses every answer's headers with the
    e-mail parser), the clients took ~0.5 ms of CPU per request from the machine under test; prepared
    and sent this way, ~0.1 ms."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def encode(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode("latin-1") + b"\r\n" + body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill()
        out, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return out

    def send(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "content-length" in fields:
            body = self._take(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            self._line()
            body = b"".join(parts)
        else:  # the answer ends with the connection
            while True:
                try:
                    self._fill()
                except ConnectionError:
                    break
            body, self.buffer = self.buffer, b""
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, body


def _client(index, port, make, times, ready, expect, queue, prepare, schedule=None, seed=0) -> None:
    """One closed-loop client: send, wait for the whole answer, record, repeat until ``end``. With
    ``schedule`` (offset, interval) it is paced: request n leaves at start + offset + n × interval, at
    once when the client is late (the answers lag), so the offered rate holds whatever happens.

    The first ``prepare`` requests are built and signed before the start (``ready``, then ``times``
    holds start, warm-up end and end): a partner system runs on its own machine, and building work
    orders here would take CPU from the server under test. More are built on the way if needed; the
    signatures stay well inside the replay window (a run lasts under a minute)."""
    rng = random.Random(seed * 1_000_003 + 1000 + index)  # each run of clients its own work orders
    conn = _Http(port)
    prepared = [conn.encode(*make(rng, index, seq)) for seq in range(prepare)]
    ready.wait()
    ready.wait()  # the parent has set the times
    start, warm_end, end = times[:]
    samples: list[tuple[float, int]] = []  # (latency s, status) of requests sent in the window
    errors: dict[str, int] = {}
    cpu_at_warm_end = None
    for seq in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= end:
            break
        if cpu_at_warm_end is None and time.monotonic() >= warm_end:
            cpu_at_warm_end = time.process_time()
        request = prepared[seq] if seq < prepare else conn.encode(*make(rng, index, seq))
        if schedule is not None:
            due = start + schedule[0] + seq * schedule[1]
            if due >= end:
                break
            time.sleep(max(0.0, due - time.monotonic()))
        started = time.perf_counter()
        try:
            status, answer = conn.send(request)
        except (OSError, ValueError) as exc:
            status, answer = 0, repr(exc).encode()
            conn.close()
        latency = time.perf_counter() - started
        finished = time.monotonic()
        if status != expect and len(errors) < 20:
            key = f"{status} {answer[:160].decode(errors='replace')}"
            errors[key] = errors.get(key, 0) + 1
        # The requests sent inside the measured window count, each answered when it is (the last ones
        # just after the window's end): a paced run counts exactly what was offered in the window, a
        # closed loop at most one request a client more than it finished in it. No warm-up.
        if warm_end <= finished - latency < end:
            samples.append((latency, status))
    conn.close()
    cpu = time.process_time() - cpu_at_warm_end if cpu_at_warm_end is not None else 0.0
    queue.put((index, samples, errors, cpu))


# --- where the CPU went ----------------------------------------------------------------------------------
# On a small shared machine the rate says as much about the neighbours as about the code, so the bench
# also measures the CPU seconds the server processes and their database backends spent in the window:
# CPU per appeal is what caps the rate on any machine (cores / CPU per appeal).
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, todo = [root], [root]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree += children
        todo += children
    return tree


def _backends(database: str) -> list[int]:
    with _admin() as conn:
        return [
            row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        ]


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuWindow:
    """CPU seconds of the server's processes, its database backends and the whole machine between
    ``begin`` and ``finish``."""

    def __init__(self, server_pid: int, database: str):
        self.server_pid, self.database = server_pid, database

    def begin(self) -> None:
        self.server = _process_tree(self.server_pid)
        self.db = _backends(self.database)
        self.server_cpu = {p: _proc_cpu(p) for p in self.server}
        self.db_cpu = {p: _proc_cpu(p) for p in self.db}
        self.machine = _machine_ticks()

    @staticmethod
    def _spent(start: dict[int, float]) -> float:
        """CPU seconds since ``start`` of the processes still there (one that ended meanwhile, such
        as a database session of a probe, reads 0 and would count negative)."""
        return sum(max(0.0, _proc_cpu(p) - before) for p, before in start.items())

    def finish(self) -> dict:
        busy = _machine_ticks()
        server, db = self._spent(self.server_cpu), self._spent(self.db_cpu)
        # Sessions opened during the window (the worker reconnects for each task) spent all theirs in it.
        db += sum(_proc_cpu(p) for p in _backends(self.database) if p not in self.db_cpu)
        cores = os.cpu_count() or 1
        busy_s = (busy[0] - self.machine[0]) / CLOCK_TICKS
        wall_s = (busy[1] - self.machine[1]) / CLOCK_TICKS / cores
        return {"server_cpu_s": server, "db_cpu_s": db, "machine_busy_s": busy_s, "wall_s": wall_s}


CPU_KEYS = (
    "server_cpu_ms_per_req",
    "db_cpu_ms_per_req",
    "client_cpu_ms_per_req",
    "other_cpu_share",
    "machine_busy_share",
    "cpu_bound_rate_per_s",
)


def drive(
    port: int,
    make: RequestMaker,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    expect: int,
    cpu: CpuWindow | None = None,
    rate: float | None = None,
    seed: int = 0,
):
    """Run ``concurrency`` client processes for warm-up + duration seconds; rate, latency and CPU.
    ``rate``: the clients together offer this many requests a second (paced), else as many as they can."""
    context = multiprocessing.get_context("fork")  # children inherit the request maker and the text
    queue = context.Queue()
    times = context.Array("d", 3)
    ready = context.Barrier(concurrency + 1)
    interval = concurrency / rate if rate else None
    # Paced: exactly the requests the schedule sends; closed loop: what a fast run sends.
    per_second = rate if rate else PREPARED_PER_S
    prepare = math.ceil((warmup + duration) * per_second / concurrency) + 1
    clients = [
        context.Process(
            target=_client,
            args=(i, port, make, times, ready, expect, queue, prepare),
            kwargs={
                "schedule": (i * interval / concurrency, interval) if interval else None,
                "seed": seed,
            },
            daemon=True,
        )
        for i in range(concurrency)
    ]
    for client in clients:
        client.start()
    ready.wait(timeout=600)  # every client has built its requests
    start = time.monotonic() + 0.2  # all clients share one clock (CLOCK_MONOTONIC is system-wide)
    warm_end, end = start + warmup, start + warmup + duration
    times[:] = [start, warm_end, end]
    ready.wait(timeout=60)
    used = None
    if cpu is not None:
        time.sleep(max(0.0, warm_end - time.monotonic()))
        cpu.begin()
        time.sleep(max(0.0, end - time.monotonic()))
        used = cpu.finish()
    results = []
    for _ in clients:
        results.append(queue.get(timeout=warmup + duration + 120))
    for client in clients:
        client.join(timeout=30)
    latencies = sorted(lat for _, samples, _, _ in results for lat, status in samples if status == expect)
    failed = sum(1 for _, samples, _, _ in results for _, status in samples if status != expect)
    errors: dict[str, int] = {}
    for _, _, errs, _ in results:
        for key, count in errs.items():
            errors[key] = errors.get(key, 0) + count
    if not latencies:
        return {"rate_per_s": 0.0, "ok": 0, "failed": failed, "errors": errors}

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    clock_offset = time.time() - time.monotonic()
    figures = {
        "rate_per_s": round(len(latencies) / duration, 1),
        # The measured window on the wall clock (Unix seconds), to match the database's timestamps.
        "window_unix": (warm_end + clock_offset, end + clock_offset),
        "ok": len(latencies),
        "failed": failed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "errors": errors,
    }
    if used is not None:
        clients_cpu = sum(c for _, _, _, c in results)
        ours = used["server_cpu_s"] + used["db_cpu_s"] + clients_cpu
        figures.update(
            server_cpu_ms_per_req=round(used["server_cpu_s"] / len(latencies) * 1000, 2),
            db_cpu_ms_per_req=round(used["db_cpu_s"] / len(latencies) * 1000, 2),
            client_cpu_ms_per_req=round(clients_cpu / len(latencies) * 1000, 2),
            # What the machine's cores did meanwhile that was neither the server, its database nor the
            # clients: other jobs on a shared machine.
            other_cpu_share=round(
                max(0.0, used["machine_busy_s"] - ours) / (used["wall_s"] * (os.cpu_count() or 1)), 2
            ),
            machine_busy_share=round(used["machine_busy_s"] / (used["wall_s"] * (os.cpu_count() or 1)), 2),
            # The rate these cores would give if the server, its database and the clients had them to
            # themselves and CPU were the only limit: cores / CPU per request. An estimate, not a figure.
            cpu_bound_rate_per_s=round((os.cpu_count() or 1) * len(latencies) / ours, 1) if ours else None,
        )
    return figures


class Partner:
    """What ``signing.signed_headers`` reads of a partner: the key id and the shared secret."""

    def __init__(self, key_id: str, secret: str):
        self.key_id, self.secret = key_id, secret


def push_maker(partner: Partner, places: list[str], run_id: str) -> RequestMaker:
    def make(rng: random.Random, index: int, seq: int):
        ref = f"{run_id}{index:02d}{seq:07d}"  # unique per run: every push is a new appeal
        body = json.dumps(work_order(rng, places, ref, dt.datetime.now(SHANGHAI)), ensure_ascii=False)
        data = body.encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **signing.signed_headers(partner, data)}
        return PUSH_PATH, data, headers

    return make


def helpdesk_maker(token: str, queue_id: int, places: list[str], run_id: str) -> RequestMaker:
    """The same work orders as tickets: title and description from the same text, one ticket each."""

    def make(rng: random.Random, index: int, seq: int):
        order = work_order(rng, places, f"{run_id}{index:02d}{seq:07d}", dt.datetime.now(SHANGHAI))
        description = (
            f"{order['诉求内容']}\n工单编号：{order['工单编号']}\n来电人：{order['来电人']}"
            f"\n来电号码：{order['来电号码']}\n诉求地址：{order['诉求地址']}\n来电时间：{order['来电时间']}"
        )
        body = {
            "queue": queue_id,
            "title": (order["诉求类型"] or "其他") + "：" + order["诉求内容"][:40],
            "description": description,
            "priority": 3,
        }
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Token {token}"}
        return "/helpdesk/api/tickets/", data, headers

    return make


def start_bg_workers(count: int) -> list[subprocess.Popen]:
    """The ``db_worker`` processes that register what was answered on receipt, under ``nice`` as
    ``minsheng serve`` starts its worker: requests come first, the queue takes the idle CPU."""
    minsheng = str(ROOT / ".venv" / "bin" / "minsheng")
    command = ["nice", "-n", str(BG_NICE), minsheng, "db_worker", "--interval", "0.2", "--no-startup-delay"]
    command += ["--no-reload", "-v", "0"]
    return [
        subprocess.Popen([*command, "--worker-id", f"bench-{i}"], env=main_env(), cwd=ROOT)
        for i in range(count)
    ]


def payload_counts() -> tuple[int, int]:
    """(payloads still pending, payloads settled) of the pushes."""
    with psycopg.connect(f"{SERVER}/{DB_MAIN}") as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status <> 'pending')"
            " FROM intake_rawpayload WHERE transport = 'push'"
        ).fetchone()


def processed_between(start_unix: float, end_unix: float) -> int:
    with psycopg.connect(f"{SERVER}/{DB_MAIN}") as conn:
        return conn.execute(
            "SELECT count(*) FROM intake_rawpayload WHERE transport = 'push' AND processed_at >= to_timestamp(%s)"
            " AND processed_at < to_timestamp(%s)",
            (start_unix, end_unix),
        ).fetchone()[0]


def drain(workers: list[subprocess.Popen], limit_s: float) -> dict:
    """After the push: the workers with the machine to themselves, until the queue is empty or
    ``limit_s`` passed. Their rate here is the processing capacity (register, de-duplicate, triage)."""
    if not workers:
        return {}
    cpu = CpuWindow(os.getpid(), DB_MAIN)
    cpu.server = [p for w in workers for p in _process_tree(w.pid)]  # the workers, not this process
    cpu.db = _backends(DB_MAIN)
    cpu.server_cpu = {p: _proc_cpu(p) for p in cpu.server}
    cpu.db_cpu = {p: _proc_cpu(p) for p in cpu.db}
    cpu.machine = _machine_ticks()
    pending_before, settled_before = payload_counts()
    started = time.monotonic()
    pending, settled = pending_before, settled_before
    while pending and time.monotonic() - started < limit_s:
        time.sleep(0.5)
        pending, settled = payload_counts()
    seconds = time.monotonic() - started
    used = cpu.finish()
    done = settled - settled_before
    figures = {
        "backlog_after_push": pending_before,
        "drain_s": round(seconds, 1),
        "backlog_left": pending,
        "processed_rate_per_s": round(done / seconds, 1) if seconds else None,
    }
    if done:
        cores = os.cpu_count() or 1
        ours = used["server_cpu_s"] + used["db_cpu_s"]
        figures.update(
            processed_worker_cpu_ms_per_appeal=round(used["server_cpu_s"] / done * 1000, 2),
            processed_db_cpu_ms_per_appeal=round(used["db_cpu_s"] / done * 1000, 2),
            processed_other_cpu_share=round(
                max(0.0, used["machine_busy_s"] - ours) / (used["wall_s"] * cores), 2
            ),
            processed_cpu_bound_rate_per_s=round(cores * done / ours, 1) if ours else None,
        )
    return figures


def registration_delays(start_unix: float, end_unix: float) -> dict:
    """Of the pushes received in the window: how long from the acknowledgement to the registered
    appeal (p50, p99, max; of those registered by now), and how many were still waiting when the
    window ended."""
    with psycopg.connect(f"{SERVER}/{DB_MAIN}") as conn:
        p50, p99, longest, late = conn.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)),"
            " max(extract(epoch FROM processed_at - received_at)),"
            " count(*) FILTER (WHERE processed_at IS NULL OR processed_at > to_timestamp(%s))"
            " FROM intake_rawpayload WHERE transport = 'push'"
            " AND received_at >= to_timestamp(%s) AND received_at < to_timestamp(%s)",
            (end_unix, start_unix, end_unix),
        ).fetchone()
    return {
        "registration_delay_p50_s": round(float(p50), 2) if p50 is not None else None,
        "registration_delay_p99_s": round(float(p99), 2) if p99 is not None else None,
        "registration_delay_max_s": round(float(longest), 2) if longest is not None else None,
        "unregistered_at_window_end": late,
    }


def wait_for_empty_queue(limit_s: float) -> int:
    started = time.monotonic()
    pending, _ = payload_counts()
    while pending and time.monotonic() - started < limit_s:
        time.sleep(0.5)
        pending, _ = payload_counts()
    return pending


def bench_sustained(args, port: int, gunicorn, make: RequestMaker) -> dict:
    """Pushes offered at a steady ``--rate`` while the worker registers them: the rate is sustained
    when the appeals registered in the window keep up with the pushes acknowledged in it and the
    delay from acknowledgement to appeal stays short (it grows without bound when they do not)."""
    figures = drive(
        port,
        make,
        concurrency=args.concurrency,
        warmup=args.warmup,
        duration=args.duration,
        expect=202,
        cpu=CpuWindow(gunicorn.pid, DB_MAIN),
        rate=args.rate,
        seed=1,
    )
    start, end = figures["window_unix"]
    registered = processed_between(start, end) / (end - start)
    figures.update(registration_delays(start, end), registered_per_s=round(registered, 1))
    figures["backlog_at_end"] = payload_counts()[0]
    return figures


def bench_push(args, partner: Partner, places: list[str]) -> dict:
    port = free_port()
    gunicorn = start_gunicorn(
        ROOT / ".venv" / "bin" / "gunicorn", "minsheng.wsgi:application", port, main_env(), ROOT, args.threads
    )
    workers = [] if args.sync else start_bg_workers(args.bg_workers)
    try:
        wait_until_up(port, "/healthz", gunicorn)
        make = push_maker(partner, places, run_id=f"B{int(time.time()) % 10**6:06d}")
        sustained = {}
        if workers and args.rate:
            print(f"    sustained: {args.rate:.0f}/s offered for {args.duration:.0f} s", flush=True)
            sustained = bench_sustained(args, port, gunicorn, make)
            print(f"    {sustained}", flush=True)
            wait_for_empty_queue(args.drain)
            make = push_maker(partner, places, run_id=f"C{int(time.time()) % 10**6:06d}")
        print("    capacity: closed loop", flush=True)
        figures = drive(
            port,
            make,
            concurrency=args.concurrency,
            warmup=args.warmup,
            duration=args.duration,
            expect=201 if args.sync else 202,
            cpu=CpuWindow(gunicorn.pid, DB_MAIN),
            seed=2,
        )
        figures["sustained"] = sustained
        if workers:
            start, end = figures["window_unix"]
            figures["processed_during_push_per_s"] = round(processed_between(start, end) / (end - start), 1)
            stop(gunicorn)  # its database sessions end now, not in the middle of the drain's CPU window
            figures.update(drain(workers, args.drain))
    finally:
        stop(gunicorn)
        for worker in workers:
            stop(worker)
    return figures


def what_the_pushes_made() -> dict:
    """Evidence of what one push did, read from the database: appeals, cases dispatched at intake
    (triage, when it is wired in) and appeals linked to another (duplicate detection, likewise)."""
    with psycopg.connect(f"{SERVER}/{DB_MAIN}") as conn:
        appeals, linked = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE link_kind <> 'master') FROM appeals_appeal"
        ).fetchone()
        dispatched = conn.execute("SELECT count(*) FROM cases_case WHERE state <> 'registered'").fetchone()[0]
    return {"appeals_created": appeals, "cases_dispatched_at_intake": dispatched, "appeals_linked": linked}


def tickets_in_helpdesk() -> int:
    with psycopg.connect(f"{SERVER}/{DB_HELPDESK}") as conn:
        return conn.execute("SELECT count(*) FROM helpdesk_ticket").fetchone()[0]


# --- batch import ----------------------------------------------------------------------------------------
def service_window_csv(rows: int) -> Path:
    """A service-window export in the default column names; one row in BAD_ROW_EVERY is bad on purpose."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"service_window_{rows}.csv"
    if path.exists():  # reused between runs: all its times are in the past, and each run uses a fresh DB
        return path
    rng = random.Random(3)
    units = load_units()
    now = dt.datetime.now(SHANGHAI).replace(microsecond=0) - dt.timedelta(days=1)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["记录编号", "类型", "业务", "单位", "民警", "警号", "群众电话", "开始时间", "结束时间", "结果"]
        )
        for n in range(rows):
            kind = rng.choice(KIND_TEXTS)
            started = now - dt.timedelta(seconds=rng.randrange(365 * 86400))
            ended = started + dt.timedelta(seconds=rng.randrange(120, 3600))
            row = [
                f"CK{n:09d}",
                kind,
                rng.choice(SERVICE_TYPES[kind.removesuffix("窗口")]),
                rng.choice(units),
                person(rng),
                f"{rng.randrange(100000, 999999)}",
                phone(rng),
                started.strftime("%Y-%m-%d %H:%M:%S"),
                ended.strftime("%Y-%m-%d %H:%M:%S"),
                rng.choice(OUTCOMES),
            ]
            if n % BAD_ROW_EVERY == BAD_ROW_EVERY - 1:
                row[6 if n % 2 else 8] = "12" if n % 2 else "昨天下午"  # a bad phone or an unreadable time
            writer.writerow(row)
    tmp.rename(path)
    return path


IMPORT_SUMMARY = re.compile(r"共 (\d+) 行，导入 (\d+) 行，已导入过 (\d+) 行，拒收 (\d+) 行")


def bench_import(path: Path) -> dict:
    minsheng = str(ROOT / ".venv" / "bin" / "minsheng")
    load_before = os.getloadavg()[0]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = _machine_ticks()
    started = time.monotonic()
    out = subprocess.run(
        [minsheng, "import", "service_window", str(path)],
        env=main_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = _machine_ticks()
    if out.returncode != 0:
        raise RuntimeError(f"import failed ({out.returncode}): {out.stderr[-2000:]}")
    found = IMPORT_SUMMARY.search(out.stdout)
    if not found:
        raise RuntimeError(f"unexpected import output: {out.stdout[-1000:]}")
    rows, imported, duplicates, rejected = map(int, found.groups())
    return {
        "seconds": round(seconds, 1),
        "rows": rows,
        "imported": imported,
        "duplicates": duplicates,
        "rejected": rejected,
        # The import process's own CPU (both its threads); PostgreSQL's is on top of it.
        "cpu_s": round(
            children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime, 1
        ),
        "machine_busy_share": round(
            (machine[0] - machine_before[0]) / max(1, machine[1] - machine_before[1]), 2
        ),
        "load_average_before": round(load_before, 2),
    }


# --- django-helpdesk -------------------------------------------------------------------------------------
HELPDESK_SETTINGS = '''\
"""Minimal site for django-helpdesk, generated by bench/intake.py. Production-like: DEBUG off."""

import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "helpdesk_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "helpdesk_site.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("HELPDESK_DB", "helpdesk_bench"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,  # as minsheng's default (DB_CONN_MAX_AGE=60)
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "media")
LOGIN_URL = "/helpdesk/login/"
# No pinax-teams (an optional extra); tickets are created by API, no mail server on the bench.
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.invalid"
REST_FRAMEWORK = {
    # A per-client key in a header, checked with one look-up per request: the closest DRF has to a
    # partner key (BasicAuth would hash a password on every request).
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
'''
HELPDESK_URLS = """\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""
HELPDESK_WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
application = get_wsgi_application()
"""
HELPDESK_MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""
HELPDESK_SETUP = """\
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from helpdesk.models import Queue
user, _ = get_user_model().objects.get_or_create(
    username="jn12345", defaults={"is_staff": True, "is_superuser": True, "email": ""})
token, _ = Token.objects.get_or_create(user=user)
queue, _ = Queue.objects.get_or_create(slug="hotline", defaults={"title": "12345 热线工单"})
print(json.dumps({"token": token.key, "queue": queue.pk}))
"""


def helpdesk_env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        "HELPDESK_DB": DB_HELPDESK,
        "DJANGO_SETTINGS_MODULE": "helpdesk_site.settings",
        "PYTHONPATH": str(HELPDESK_SITE),
    }


def ensure_helpdesk_venv() -> str:
    """``bench/.venv-helpdesk`` with django-helpdesk (it brings its own Django), gunicorn and psycopg."""
    python = HELPDESK_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HELPDESK_VENV)], check=True, timeout=300)
    check = subprocess.run(
        [str(python), "-c", "import helpdesk, gunicorn, psycopg"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if check.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "django-helpdesk", "gunicorn", "psycopg[binary]"],
            check=True,
            timeout=900,
        )
    version = subprocess.run(
        [
            str(python),
            "-c",
            "from importlib.metadata import version as v; print(v('django-helpdesk'), v('django'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    helpdesk, django = version.stdout.split()
    return f"django-helpdesk {helpdesk} (Django {django})"


def setup_helpdesk() -> dict:
    package = HELPDESK_SITE / "helpdesk_site"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(HELPDESK_SETTINGS)
    (package / "urls.py").write_text(HELPDESK_URLS)
    (package / "wsgi.py").write_text(HELPDESK_WSGI)
    (HELPDESK_SITE / "manage.py").write_text(HELPDESK_MANAGE)
    recreate_database(DB_HELPDESK)
    python, env = str(HELPDESK_VENV / "bin" / "python"), helpdesk_env()
    manage = [python, str(HELPDESK_SITE / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=HELPDESK_SITE, check=True, timeout=900
    )
    out = subprocess.run(
        [*manage, "shell", "-c", HELPDESK_SETUP],
        env=env,
        cwd=HELPDESK_SITE,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_helpdesk(args, places: list[str]) -> dict:
    version = ensure_helpdesk_venv()
    credentials = setup_helpdesk()
    port = free_port()
    gunicorn = start_gunicorn(
        HELPDESK_VENV / "bin" / "gunicorn",
        "helpdesk_site.wsgi:application",
        port,
        helpdesk_env(),
        HELPDESK_SITE,
        args.threads,
    )
    try:
        wait_until_up(
            port, "/helpdesk/api/tickets/", gunicorn, {"Authorization": f"Token {credentials['token']}"}
        )
        make = helpdesk_maker(credentials["token"], credentials["queue"], places, run_id="H")
        figures = drive(
            port,
            make,
            concurrency=args.concurrency,
            warmup=args.warmup,
            duration=args.duration,
            expect=201,
            cpu=CpuWindow(gunicorn.pid, DB_HELPDESK),
        )
    finally:
        stop(gunicorn)
    figures["version"] = version
    figures["tickets_created"] = tickets_in_helpdesk()
    return figures


# --- main ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds of each load test")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before it")
    parser.add_argument("--concurrency", type=int, default=8, help="client processes (closed loop)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gunicorn worker (1: sync workers; >1: gthread; 4 as `minsheng serve`)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the service-window CSV")
    parser.add_argument(
        "--sync", action="store_true", help="the synchronous answer (201, processing in the request)"
    )
    parser.add_argument(
        "--bg-workers",
        type=int,
        default=2,
        help="db_worker processes (answer on receipt), as minsheng serve runs",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_RATE,
        help="pushes a second offered in the sustained test (0: skip it; answer on receipt only)",
    )
    parser.add_argument(
        "--text",
        choices=("teddy", "templates"),
        default="teddy",
        help="work-order texts: Teddy Cup messages (when ../shared has them) or the 15 templates",
    )
    parser.add_argument(
        "--drain", type=float, default=60.0, help="at most this many seconds of draining after the push"
    )
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-helpdesk", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    args = parser.parse_args()
    if not (1 <= args.concurrency <= 64 and 1 <= args.duration <= 600 and 0 <= args.warmup <= 120):
        parser.error("concurrency 1-64, duration 1-600 s, warm-up 0-120 s")
    if not (1 <= args.threads <= 16 and 1 <= args.rows <= 5_000_000):
        parser.error("threads 1-16, rows 1-5,000,000")
    if not (0 <= args.bg_workers <= 8 and 0 <= args.drain <= 1800):
        parser.error("bg-workers 0-8, drain 0-1800 s")

    WORK.mkdir(exist_ok=True)
    notes: list[str] = []
    figures: dict = {
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "gunicorn": f"2 workers, {'sync' if args.threads == 1 else f'gthread × {args.threads} threads'}",
        "push_answer": "synchronous (201)" if args.sync else "on receipt (202)",
        "bg_workers": 0 if args.sync else args.bg_workers,
    }
    places = load_places()
    if args.text == "teddy" and TEDDY.exists():
        figures["text"] = f"Teddy Cup 2020 messages ({load_messages()}), Jinan places and house numbers"
    else:
        figures["text"] = f"{len(WORK_ORDER_TEMPLATES)} templates with Jinan places"
    figures["text"] += f"; {RETELL_SHARE:.0%} retell a recent work order"
    try:
        print(f"[setup] database {DB_MAIN}: migrate, load-org jinan, partner {PARTNER_CODE}", flush=True)
        keys = setup_main(on_receipt=not args.sync)
        partner = Partner(keys["key_id"], keys["secret"])
        figures.update(database=database_version(), pg_commit_ms=commit_ms())

        print(
            f"[a] push: {args.concurrency} clients, {args.warmup:.0f} s warm-up + {args.duration:.0f} s",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        push = bench_push(args, partner, places)
        sustained = push.pop("sustained")
        if sustained:
            # The headline: appeals registered (triage and duplicate detection included) per second
            # while pushes arrive steadily, and the partner's wait for its answer meanwhile.
            figures.update(
                push_rate_per_s=round(min(sustained["rate_per_s"], sustained["registered_per_s"]), 1),
                push_p50_ms=sustained.get("p50_ms"),
                push_p95_ms=sustained.get("p95_ms"),
                push_p99_ms=sustained.get("p99_ms"),
                sustained_offered_per_s=args.rate,
                sustained_acknowledged_per_s=sustained["rate_per_s"],
                sustained_registered_per_s=sustained["registered_per_s"],
                **{
                    k: sustained[k] for k in sustained if k.startswith(("registration_delay", "unregistered"))
                },
                sustained_backlog_at_end=sustained["backlog_at_end"],
                **{f"sustained_{k}": sustained[k] for k in CPU_KEYS if k in sustained},
            )
        else:
            figures.update(
                push_rate_per_s=push["rate_per_s"],
                push_p50_ms=push.get("p50_ms"),
                push_p95_ms=push.get("p95_ms"),
                push_p99_ms=push.get("p99_ms"),
            )
        figures.update(
            ack_capacity_per_s=push["rate_per_s"],
            ack_capacity_p99_ms=push.get("p99_ms"),
            push_ok=push["ok"],
            push_failed=push["failed"],
            **{k: v for k, v in push.items() if k.startswith(("processed_", "backlog_", "drain_"))},
            **what_the_pushes_made(),
            **{f"push_{k}": push[k] for k in CPU_KEYS if k in push},
            load_average_before=round(load_before, 2),
        )
        if push["errors"]:
            notes.append(f"push errors: {push['errors']}")
        print(f"    {push}", flush=True)

        if not args.skip_import:
            path = service_window_csv(args.rows)
            print(f"[b] import {path.name} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
            result = bench_import(path)
            figures.update(
                import_1m_s=result["seconds"] if args.rows == 1_000_000 else None,
                import_s=result["seconds"],
                import_rows=result["rows"],
                import_imported=result["imported"],
                import_rejected=result["rejected"],
                import_process_cpu_s=result["cpu_s"],
                import_machine_busy_share=result["machine_busy_share"],
                import_load_average_before=result["load_average_before"],
            )
            print(f"    {result}", flush=True)

        if not args.skip_helpdesk:
            print("[c] django-helpdesk: same client, concurrency, duration and text", flush=True)
            try:
                helpdesk = bench_helpdesk(args, places)
            except (subprocess.SubprocessError, RuntimeError, OSError, ValueError) as exc:
                figures.update(helpdesk_rate_per_s=None, helpdesk_p99_ms=None, ratio_vs_helpdesk=None)
                notes.append(f"django-helpdesk could not be measured: {exc!r}"[:1000])
            else:
                figures.update(
                    helpdesk_rate_per_s=helpdesk["rate_per_s"],
                    helpdesk_p50_ms=helpdesk.get("p50_ms"),
                    helpdesk_p99_ms=helpdesk.get("p99_ms"),
                    helpdesk_failed=helpdesk["failed"],
                    **{f"helpdesk_{k}": helpdesk[k] for k in CPU_KEYS if k in helpdesk},
                    helpdesk_version=helpdesk["version"],
                    tickets_created=helpdesk["tickets_created"],
                    ratio_vs_helpdesk=(
                        round(figures["push_rate_per_s"] / helpdesk["rate_per_s"], 2)
                        if helpdesk["rate_per_s"]
                        else None
                    ),
                )
                if helpdesk["errors"]:
                    notes.append(f"helpdesk errors: {helpdesk['errors']}")
                print(f"    {helpdesk}", flush=True)
    finally:
        if not args.keep:
            for name in (DB_MAIN, DB_HELPDESK):
                drop_database(name)
    notes.append(
        "Client: closed-loop processes on the same machine as gunicorn and PostgreSQL, one keep-alive "
        "connection each, requests built and signed before the window; the requests sent inside the "
        "window are counted, each answered when it is; "
        "*_other_cpu_share is the part of the machine's CPU that other jobs took during the window. "
        + (
            "minsheng push, synchronous answer (201): HMAC-SHA256 signature checked, payload stored raw "
            "and committed, parsed, normalised, located, appeal and case registered, de-duplicated and "
            "triaged and committed, all in the request. "
            if args.sync
            else "minsheng push, answered on receipt (202; README 'Answering on receipt'): push_* are the "
            "acknowledgements only: HMAC-SHA256 signature checked, payload stored raw and committed with "
            "its processing queued, fields parsed and checked, the work order looked up by its id. "
            "Registration (place, appeal and case, duplicate detection, triage and direct dispatch) is the "
            f"{args.bg_workers} db_workers', under nice: processed_during_push_per_s is what they finished "
            "while the pushes ran, processed_rate_per_s their rate afterwards with the machine to itself (at most --drain s; "
            "backlog_left is what was still queued then), processed_*_cpu_ms_per_appeal their cost. "
        )
        + "cases_dispatched_at_intake > 0: triage ran; appeals_linked > 0: duplicate detection linked "
        "appeals; both are counted over the appeals registered by the end. ratio_vs_helpdesk compares "
        "push_rate_per_s with helpdesk's full ticket creation. "
        "django-helpdesk: DRF TokenAuthentication (a key in a header, one token look-up; minsheng: key id + HMAC-SHA256 over timestamp and body, one partner look-up), "
        "POST /helpdesk/api/tickets/ with the same "
        "text as title and description, notification mail to Django's dummy backend."
    )
    figures["notes"] = " | ".join(notes)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_MAIN}"
    if args.skip_import or args.skip_helpdesk:
        # A partial run (while iterating) leaves the committed figures alone: printed, and kept under
        # bench/work/ (not versioned).
        figures["partial"] = True
        (WORK / "intake_partial.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        write_result("intake", figures)
    verdict = [
        f"push {figures['push_rate_per_s']}/s (≥ {TARGET_RATE:.0f}), "
        f"p99 {figures['push_p99_ms']} ms (≤ {TARGET_P99_MS:.0f})",
    ]
    if figures.get("processed_rate_per_s") is not None:
        verdict.append(
            f"processed by the worker: {figures['processed_during_push_per_s']}/s during the push, "
            f"{figures['processed_rate_per_s']}/s afterwards"
        )
    if figures.get("import_s") is not None:
        verdict.append(
            f"import {figures['import_rows']} rows in {figures['import_s']} s (1M ≤ {TARGET_IMPORT_S:.0f} s)"
        )
    if figures.get("helpdesk_rate_per_s"):
        verdict.append(f"helpdesk {figures['helpdesk_rate_per_s']}/s, ratio {figures['ratio_vs_helpdesk']}×")
    print("\n".join(verdict))


if __name__ == "__main__":
    main()
