"""Server time of the workbench queues and the case page with a year of cases in PostgreSQL
→ ``bench/results/workbench.json`` (acceptance: p95 ≤ 150 ms for both at 200,000 cases).

Creates a throw-away PostgreSQL database ``minsheng_bench`` on 127.0.0.1:5432 (user postgres), loads
the Jinan organisation and the demo accounts, bulk-inserts ``--cases`` cases spread over 365 days (with
their appeals and timelines), then requests every queue of four demo users (city dispatcher, a station
officer, a branch supervisor, the city leader) and a sample of case pages through ``django.test.Client``.
The time measured is the whole Django request (middleware, session, queries, template) with no network.

    .venv/bin/python bench/workbench.py                 # 200,000 cases; ~15-20 minutes on 2 cores
    .venv/bin/python bench/workbench.py --cases 5000    # a quick check (→ results/workbench_5000.json)
    .venv/bin/python bench/workbench.py --keep          # keep minsheng_bench afterwards to look at it
    .venv/bin/python bench/workbench.py --reuse         # measure a kept database again (after migrating)

The data depends on the day it is generated (365 days ending today; open cases are the recent ones).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import write_result  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "minsheng_bench"
BATCH = 2000  # cases per transaction: big enough for bulk_create to pay off, small enough to show progress
USERS = ("dispatcher", "luokou", "tianqiao_sup", "leader")
FILTER_DISTRICT = "370105"  # 天桥区: inside both the station's and the branch supervisor's area
TARGET_MS = 150.0

# Share of all cases left in each open state. The platform closes most cases within days, so the open
# ones are drawn mostly from recent weeks (exponential in age with ``tau_days``) with a tail of stuck
# cases (``tail``) over the whole year: a few percent in each queue, like a live system.
OPEN_MIX = {
    # state: (share, tau_days, tail)
    "investigating": (0.004, 40, 0.3),
    "in_progress": (0.04, 20, 0.25),
    "completed": (0.02, 6, 0.1),
    "dispatched": (0.02, 3, 0.1),
    "returned": (0.005, 4, 0.1),
    "registered": (0.01, 2, 0.05),
}
CLOSE_MIX = {"satisfied": 0.80, "basically_satisfied": 0.10, "unreachable": 0.04, "no_followup": 0.05}


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def create_database() -> None:
    with _admin_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    with _admin_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def setup_django() -> None:
    # Must be set before django.setup(): settings read DATABASE_URL once, at import.
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- data -----------------------------------------------------------------------------------------


def prepare_schema() -> None:
    from django.core.management import call_command

    from minsheng.accounts.demo import ensure_demo_accounts

    call_command("migrate", verbosity=0)
    call_command("load_org", "jinan", verbosity=0)
    ensure_demo_accounts()


def generate_items(cases: int, now: dt.datetime, seed: int):
    """Appeals from the demo generator over 365 days: ``cases`` originals (sampled uniformly so the
    year stays evenly covered) plus the generator's same-matter duplicates of those originals."""
    from django.utils import timezone

    from minsheng.core.management.commands.demo_data import _read
    from minsheng.demo.generator import DUPLICATE_SHARE, generate_appeals

    divisions, communities = _read("divisions.csv"), _read("communities.csv")
    # Rest days and holidays bring the yearly mean below per_day; ask for ~10% more and sample down.
    per_day = cases / 365 / (1 - DUPLICATE_SHARE) * 1.1
    cutoff = now - dt.timedelta(minutes=5)
    while True:
        stream = list(
            generate_appeals(
                days=365,
                seed=seed,
                end=timezone.localdate(now),
                divisions=divisions,
                communities=communities,
                per_day=per_day,
            )
        )
        originals = [
            i for i, a in enumerate(stream) if a.duplicate_of_index is None and a.received_at <= cutoff
        ]
        if len(originals) >= cases:
            break
        per_day *= 1.2 * cases / max(len(originals), 1)
    rng = random.Random(seed)
    kept = sorted(rng.sample(originals, cases))
    duplicates: dict[int, list] = defaultdict(list)
    for a in stream:
        if a.duplicate_of_index is not None and a.received_at <= cutoff:
            duplicates[a.duplicate_of_index].append(a)
    # One or two appeals per case: the original and at most one duplicate merged into it.
    return [(stream[i], duplicates[i][:1]) for i in kept]


def assign_states(registered: list[dt.datetime], now: dt.datetime, seed: int) -> list[str]:
    """Exactly the OPEN_MIX shares, drawn with age-dependent weights; the rest closed."""
    rng = np.random.default_rng(seed)
    ages = np.array([(now - t).total_seconds() / 86400 for t in registered])
    states = np.full(len(ages), "closed", dtype=object)
    free = np.ones(len(ages), dtype=bool)
    for state, (share, tau, tail) in OPEN_MIX.items():
        k = round(share * len(ages))
        weights = (1 - tail) * np.exp(-ages / tau) / (tau / 365) + tail
        weights = np.where(free, weights, 0)
        if k == 0 or weights.sum() == 0:
            continue
        picked = rng.choice(len(ages), size=min(k, int(free.sum())), replace=False, p=weights / weights.sum())
        states[picked] = state
        free[picked] = False
    return list(states)


class World:
    """Everything the generator looks up: units, officers, categories, existing division codes."""

    def __init__(self):
        from minsheng.accounts.models import Membership, Role, User
        from minsheng.categories.models import Category
        from minsheng.divisions.models import Division
        from minsheng.units.models import Unit, UnitFunction, UnitType

        self.categories = {c.code: c for c in Category.objects.all()}
        self.division_codes = set(Division.objects.values_list("code", flat=True))
        level3 = list(Unit.objects.filter(level=3, active=True).select_related("parent"))
        self.luokou = next(u for u in level3 if u.name == "泺口派出所" and u.parent.name == "天桥分局")
        weight = {UnitType.POLICE_STATION: 1.0, UnitType.TRAFFIC_BRIGADE: 1.5}
        self.by_district: dict[str, tuple[list, list[float]]] = {}
        for unit in level3:
            units, weights = self.by_district.setdefault(unit.district_code, ([], []))
            units.append(unit)
            weights.append(weight.get(unit.type, 0.5))
        self.all_level3 = (level3, [weight.get(u.type, 0.5) for u in level3])
        self.brigade_by_district = {u.district_code: u for u in level3 if u.type == UnitType.TRAFFIC_BRIGADE}
        self.station_by_township = {}
        for unit in Unit.objects.filter(type=UnitType.POLICE_STATION).prefetch_related("jurisdictions"):
            for division in unit.jurisdictions.all():
                self.station_by_township.setdefault(division.code, unit)
        self.traffic = UnitFunction.TRAFFIC
        self.dispatcher = User.objects.get(username="dispatcher")
        self.followup = User.objects.get(username="followup")
        self.inspector = User.objects.get(username="inspector")
        # Platform-side events are recorded against the actor's own unit (as ``cases.events`` does).
        self.home_unit = {u.pk: u.units[0] for u in (self.dispatcher, self.followup, self.inspector)}
        # One handling officer per level-3 unit (the demo cast where it has one, e.g. luokou at 泺口).
        self.officer = {
            m.unit_id: m.user_id for m in Membership.objects.filter(role=Role.HANDLING_OFFICER, unit__level=3)
        }
        missing = [u for u in level3 if u.pk not in self.officer]
        users = User.objects.bulk_create(
            [
                User(
                    username=f"bench_{u.pk}",
                    real_name=f"{u.name}民警",
                    password="!",
                    police_number=f"9{u.pk:05d}",
                )
                for u in missing
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(user=user, unit=u, role=Role.HANDLING_OFFICER)
                for user, u in zip(users, missing, strict=True)
            ]
        )
        self.officer.update({u.pk: user.pk for user, u in zip(users, missing, strict=True)})

    def unit_for(self, rng: random.Random, category, district: str, township: str):
        """Mostly the station of the township, traffic matters to the district's brigade, the rest
        spread over the district's level-3 units (so every level-3 unit gets cases)."""
        if category is not None and category.handler_function == self.traffic and rng.random() < 0.8:
            brigade = self.brigade_by_district.get(district)
            if brigade:
                return brigade
        station = self.station_by_township.get(township)
        if station is not None and rng.random() < 0.7:
            return station
        # No district (a matter with no place): any level-3 unit, not the one unit that has no district.
        units, weights = (self.by_district.get(district) if district else None) or self.all_level3
        return rng.choices(units, weights=weights)[0]

    def division(self, code: str) -> str | None:
        return code if code and code in self.division_codes else None


def build_case(world: World, case_id: int, item, extra, state: str, now: dt.datetime, rng: random.Random):
    """One case, its appeals and its timeline as unsaved objects, consistent with ``state``."""
    from django.utils import timezone

    from minsheng.appeals.models import Appeal
    from minsheng.cases.models import Case, CaseEvent, Investigation
    from minsheng.core import workdays
    from minsheng.demo.generator import progress_note_for, reply_for, return_reason

    category = world.categories.get(item.category_code)
    code = category.code if category else "other"
    t0 = min(item.received_at + dt.timedelta(minutes=rng.uniform(1, 15)), now - dt.timedelta(minutes=1))
    case = Case(
        id=case_id,
        number=f"{timezone.localtime(t0):%Y%m%d}{case_id:07d}",
        title=(item.title or item.content)[:60],
        category=category,
        channel=item.channel,
        state=state,
        district_code=item.district_code,
        township_code=item.township_code,
        community_code=item.community_code,
        registered_at=t0,
    )
    appeals = [
        Appeal(
            channel=a.channel,
            received_at=a.received_at,
            registered_at=max(a.received_at, t0),
            registered_by=world.dispatcher,
            appellant_name=a.appellant_name,
            appellant_phone=a.appellant_phone,
            appellant_id_number=a.appellant_id_number,
            title=a.title,
            content=a.content,
            address=a.address,
            district_id=world.division(a.district_code),
            township_id=world.division(a.township_code),
            community_id=world.division(a.community_code),
            category=category,
            case_id=case_id,
            link_kind="master" if i == 0 else "repeat",
            external_source=a.channel if a.external_ref else "",
            external_ref=a.external_ref,
        )
        for i, a in enumerate([item, *extra])
    ]

    # The path that ends in ``state``: (action, from, to, actor, unit, hours after the previous step).
    unit = world.unit_for(rng, category, item.district_code, item.township_code)
    officer = world.officer[unit.pk]
    dispatcher, followup = world.dispatcher.pk, world.followup.pk
    steps: list[tuple[str, str, str, int | None, object, float]] = [
        ("register", "", "registered", dispatcher, None, 0.0)
    ]
    detour = state == "returned" or (state not in ("registered",) and rng.random() < 0.05)
    if detour:
        wrong = world.unit_for(rng, None, item.district_code, "") if state != "returned" else unit
        steps.append(("dispatch", "registered", "dispatched", dispatcher, wrong, rng.uniform(0.1, 2)))
        steps.append(
            ("return", "dispatched", "returned", world.officer[wrong.pk], wrong, rng.uniform(0.3, 4))
        )
    before = "returned" if detour else "registered"
    if state not in ("registered", "returned"):
        steps.append(("dispatch", before, "dispatched", dispatcher, unit, rng.uniform(0.1, 2)))
    close = None
    if state == "closed":
        close = rng.choices([*CLOSE_MIX, "investigated"], weights=[*CLOSE_MIX.values(), 0.01])[0]
    if state not in ("registered", "returned", "dispatched"):
        late = rng.random() < 0.08
        wait = rng.uniform(2.5, 8) if late else rng.uniform(0.1, 1.8)
        steps.append(("accept", "dispatched", "in_progress", officer, unit, wait))
        # Progress notes fill the timeline up to 4-8 events, leaving room for the steps still to come.
        after = {"in_progress": 0, "completed": 1, "investigating": 4}.get(
            state, 5 if close == "investigated" else 2
        )
        low = 1 if state == "in_progress" else 0
        for _ in range(rng.randint(low, max(low, min(8 - len(steps) - after, 3)))):
            steps.append(("note", "", "", officer, unit, rng.uniform(1, 12)))
    days = category.deadline_days if category else 5
    if state in ("completed", "closed", "investigating"):
        overrun = rng.random() < 0.07
        work = rng.uniform(0.5, days * 24 * (1.6 if overrun else 0.9))
        steps.append(("complete", "in_progress", "completed", officer, unit, work))
    if state == "investigating" or close == "investigated":
        steps.append(("followup", "completed", "in_progress", followup, None, rng.uniform(1, 24)))
        steps.append(("complete", "in_progress", "completed", officer, unit, rng.uniform(4, 48)))
        steps.append(("followup", "completed", "investigating", followup, None, rng.uniform(2, 24)))
        if close == "investigated":
            steps.append(
                ("investigate", "investigating", "closed", world.inspector.pk, None, rng.uniform(24, 96))
            )
    elif close == "no_followup":
        steps.append(("close", "completed", "closed", dispatcher, None, rng.uniform(1, 24)))
    elif close:
        steps.append(("followup", "completed", "closed", followup, None, rng.uniform(1, 24)))

    # Recent cases had less time: squeeze the steps into the case's age, keeping their proportions.
    age_h = (now - t0).total_seconds() / 3600
    total = sum(s[5] for s in steps)
    scale = min(1.0, age_h * 0.9 / total) if total else 1.0
    notes = {"note": lambda: progress_note_for(code, rng), "return": lambda: return_reason(rng, code)}
    events, at = [], t0
    for action, from_state, to_state, actor, acting_unit, gap in steps:
        at += dt.timedelta(hours=gap * scale)
        data = {}
        if action == "dispatch":
            case.dispatched_at = at
            case.responsible_unit = acting_unit
            case.direct = True
            case.accept_due_at = workdays.add_working_hours(at, 2)
            case.complete_due_at = workdays.add_working_days(at, days)
            data = {"unit_id": acting_unit.pk, "unit_name": acting_unit.name}
        elif action == "return":
            case.responsible_unit, case.accept_due_at, case.complete_due_at = None, None, None
            case.return_count += 1
            data = {"returned_by_unit": acting_unit.name}
        elif action == "accept":
            case.accepted_at, case.handler_id = at, officer
            case.accept_overdue = at > case.accept_due_at
        elif action == "complete":
            case.completed_at = at
            case.complete_overdue = case.complete_overdue or at > case.complete_due_at
            case.result = progress_note_for(code, rng)
            case.reply = reply_for(code, rng)
        elif action == "followup":
            answer = {"in_progress": "dissatisfied", "investigating": "dissatisfied"}.get(to_state, close)
            case.followup_answer = answer
            data = {"answer": answer, "level": case.followup_level}
            if to_state != "closed":
                case.followup_level += 1
                case.completed_at = None
            if to_state == "in_progress":
                # Level-2 follow-up: the unit re-handles within the policy's days, overdue flag cleared.
                case.complete_due_at = workdays.add_working_days(at, 3)
                case.complete_overdue = False
            if to_state == "closed":
                case.closed_at, case.close_reason = at, close
        elif action in ("close", "investigate"):
            case.closed_at, case.close_reason = at, close
        events.append(
            CaseEvent(
                case_id=case_id,
                at=at,
                actor_id=actor,
                actor_unit=world.home_unit.get(actor, acting_unit),
                action=action,
                from_state=from_state,
                to_state=to_state,
                note=notes.get(action, lambda: "")(),
                data=data,
            )
        )
    if state == "dispatched":
        case.accept_overdue = case.accept_due_at < now
    if state == "in_progress":
        case.complete_overdue = case.complete_due_at < now
    case.updated_at = at
    investigation = None
    if close == "investigated":
        investigation = Investigation(
            case_id=case_id,
            recorded_by=world.inspector,
            recorded_at=at,
            findings="调阅办理记录并回访诉求人，核实处置过程。",
            conclusion="督促承办单位整改，向诉求人说明情况。",
        )
    return case, appeals, events, investigation


def load_cases(cases: int, seed: int, now: dt.datetime) -> dict:
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from minsheng.appeals.models import Appeal
    from minsheng.cases.models import Case, CaseEvent, Investigation

    started = time.perf_counter()
    items = generate_items(cases, now, seed)
    print(
        f"  generated {len(items)} cases' appeal texts in {time.perf_counter() - started:.0f} s", flush=True
    )
    world = World()
    registered = [item.received_at for item, _ in items]
    states = assign_states(registered, now, seed)
    first_id = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for start in range(0, len(items), BATCH):
        built = [
            # One generator per case, so a case's unit and timeline do not depend on the others' states.
            build_case(world, first_id + i, item, extra, states[i], now, random.Random(seed * 1_000_003 + i))
            for i, (item, extra) in enumerate(items[start : start + BATCH], start=start)
        ]
        with transaction.atomic():
            Case.objects.bulk_create([b[0] for b in built])
            Appeal.objects.bulk_create([a for b in built for a in b[1]])
            CaseEvent.objects.bulk_create([e for b in built for e in b[2]])
            Investigation.objects.bulk_create([b[3] for b in built if b[3] is not None])
        done = start + len(built)
        elapsed = time.perf_counter() - started
        print(f"  {done:>7}/{len(items)} cases  {elapsed:5.0f} s  ({done / elapsed:.0f}/s)", flush=True)
    with connection.cursor() as cursor:
        # Ids were given explicitly (the case number embeds the id): move the sequence past them.
        for sql in connection.ops.sequence_reset_sql(no_style(), [Case]):
            cursor.execute(sql)
    vacuum_analyze()
    return round(time.perf_counter() - started)


def vacuum_analyze() -> None:
    """Planner statistics, and the visibility map that index-only scans need. A live database gets both
    from autovacuum (PostgreSQL ≥ 13 also vacuums after inserts); a freshly bulk-loaded one has neither."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def describe_data() -> dict:
    """What is in the database (read back, so a ``--reuse`` run reports it too)."""
    from django.db.models import Count

    from minsheng.appeals.models import Appeal
    from minsheng.cases.models import Case, CaseEvent

    states = dict(Case.objects.order_by().values_list("state").annotate(n=Count("pk")))
    luokou = Case.objects.filter(
        responsible_unit__name="泺口派出所", responsible_unit__parent__name="天桥分局"
    )
    return {
        "cases": sum(states.values()),
        "appeals": Appeal.objects.count(),
        "events": CaseEvent.objects.count(),
        "states": states,
        "luokou": luokou.count(),
        "level3_units_with_cases": Case.objects.filter(responsible_unit__level=3)
        .values("responsible_unit")
        .distinct()
        .count(),
    }


# --- measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def visible_sample(user, size: int, rng: random.Random) -> tuple[list[str], str]:
    """``size`` case numbers the user may see, and a phone number on one of them (for ``?q=``)."""
    from minsheng.appeals.models import Appeal
    from minsheng.cases.models import Case

    numbers = list(Case.objects.visible_to(user).values_list("number", flat=True))
    sample = rng.sample(numbers, min(size, len(numbers)))
    phone = (
        Appeal.objects.filter(case__number__in=sample[:50])
        .exclude(appellant_phone="")
        .values_list("appellant_phone", flat=True)
        .first()
    )
    return sample, phone or ""


def measure(rounds: int, case_sample: int, seed: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from minsheng.accounts.models import User
    from minsheng.cases.queues import queues_for

    rng = random.Random(seed)
    load_before = os.getloadavg()[0]
    clients, queue_urls, case_urls = {}, [], []
    for username in USERS:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        clients[username] = client
        sample, phone = visible_sample(user, case_sample, rng)
        for queue in queues_for(user):
            base = f"/?queue={queue.key}"
            variants = {
                "page1": base,
                "page2": f"{base}&page=2",
                "district": f"{base}&district={FILTER_DISTRICT}",
            }
            if phone:
                variants["phone"] = f"{base}&q={phone}"
            queue_urls += [(username, queue.key, name, url) for name, url in variants.items()]
        case_urls += [(username, f"/cases/{number}/") for number in sample]

    def get(username: str, url: str) -> float:
        begin = time.perf_counter()
        response = clients[username].get(url)
        elapsed = (time.perf_counter() - begin) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{username} {url}: HTTP {response.status_code}")
        return elapsed

    # Warm-up: connections, template loader, Python imports, PostgreSQL buffers for the hot indexes.
    for username, _key, _name, url in queue_urls:
        get(username, url)
    for username, url in case_urls[:: max(1, len(case_urls) // 40)]:
        get(username, url)

    queries: dict[str, int] = {}
    for username, key, name, url in queue_urls:
        with CaptureQueriesContext(connection) as captured:
            clients[username].get(url)
        queries[f"{username} {key} {name}"] = len(captured)
    case_queries = []
    for username, url in case_urls[:: max(1, len(case_urls) // 40)]:
        with CaptureQueriesContext(connection) as captured:
            clients[username].get(url)
        case_queries.append(len(captured))

    by_queue: dict[tuple[str, str], list[float]] = defaultdict(list)
    by_variant: dict[str, list[float]] = defaultdict(list)
    queue_times: list[float] = []
    started = time.perf_counter()
    for round_no in range(rounds):
        # Shuffle each round so no queue always runs right after the one that warmed its pages.
        order = queue_urls[:]
        rng.shuffle(order)
        for username, key, name, url in order:
            ms = get(username, url)
            by_queue[(username, key)].append(ms)
            by_variant[name].append(ms)
            queue_times.append(ms)
        print(f"  round {round_no + 1}/{rounds}  {time.perf_counter() - started:5.0f} s", flush=True)
    case_times = [get(username, url) for username, url in case_urls]
    return {
        "queue_times": queue_times,
        "case_times": case_times,
        "by_queue": by_queue,
        "by_variant": by_variant,
        "queue_queries": queries,
        "case_queries": case_queries,
        # The machine is shared: a load above the core count inflates every figure, so record it.
        "load_avg": round(max(load_before, os.getloadavg()[0]), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=20, help="repeats of every queue request")
    parser.add_argument("--sample", type=int, default=300, help="case pages per user")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"measure the {DB_NAME} kept by an earlier --keep run (after migrating it); no loading",
    )
    args = parser.parse_args()

    if not args.reuse:
        print(f"creating database {DB_NAME} …", flush=True)
        create_database()
    setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    load_seconds = None
    try:
        if args.reuse:
            call_command("migrate", verbosity=1)
            vacuum_analyze()
        else:
            prepare_schema()
            print(f"loading {args.cases} cases …", flush=True)
            load_seconds = load_cases(args.cases, args.seed, timezone.now())
        loaded = describe_data()
        print(f"measuring ({args.rounds} rounds) …", flush=True)
        result = measure(args.rounds, args.sample, args.seed)
    finally:
        if not args.keep:
            drop_database()

    queue_times, case_times = result["queue_times"], result["case_times"]
    print()
    print(
        f"data: {loaded['cases']} cases, {loaded['appeals']} appeals, {loaded['events']} events"
        + (f", loaded in {load_seconds} s" if load_seconds is not None else "")
        + f"; 泺口派出所 {loaded['luokou']} cases; {loaded['level3_units_with_cases']} level-3 units with cases"
    )
    print("  states: " + ", ".join(f"{k} {v}" for k, v in sorted(loaded["states"].items())))
    print(f"{'user':<14}{'queue':<15}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'queries':>9}")
    for (username, key), times in sorted(result["by_queue"].items()):
        q = max(v for k, v in result["queue_queries"].items() if k.startswith(f"{username} {key} "))
        flag = "  SLOW" if percentile(times, 95) > TARGET_MS else ""
        print(
            f"{username:<14}{key:<15}{percentile(times, 50):>8}{percentile(times, 95):>8}"
            f"{max(times):>8.1f}{q:>9}{flag}"
        )
    slowest = max(result["by_queue"], key=lambda k: percentile(result["by_queue"][k], 95))
    queue_queries = sorted(set(result["queue_queries"].values()))
    case_queries = sorted(set(result["case_queries"]))
    figures = {
        "queue_p95_ms": percentile(queue_times, 95),
        "case_p95_ms": percentile(case_times, 95),
        "queue_p50_ms": percentile(queue_times, 50),
        "case_p50_ms": percentile(case_times, 50),
        "queue_max_ms": round(max(queue_times), 1),
        "case_max_ms": round(max(case_times), 1),
        "cases": loaded["cases"],
        "appeals": loaded["appeals"],
        "events": loaded["events"],
        "queue_requests": len(queue_times),
        "case_requests": len(case_times),
        # The most queries any queue / case page made: constant whatever the page holds, so no N+1.
        "queries_queue_page": max(queue_queries),
        "queries_case_page": max(case_queries),
        "load_seconds": load_seconds,
        "load_avg_1m": result["load_avg"],
        "slowest_queue": " ".join(slowest),
        "slowest_queue_p95_ms": percentile(result["by_queue"][slowest], 95),
    }
    for name, times in result["by_variant"].items():
        figures[f"queue_p95_ms_{name}"] = percentile(times, 95)
    print(
        "queue p95 by variant: "
        + ", ".join(f"{name} {percentile(times, 95)} ms" for name, times in result["by_variant"].items())
    )
    print(f"queries per queue page: {queue_queries}; per case page: {case_queries}")
    print(
        f"queue pages: p50 {figures['queue_p50_ms']} ms, p95 {figures['queue_p95_ms']} ms, "
        f"max {figures['queue_max_ms']} ms ({len(queue_times)} requests)"
    )
    print(
        f"case pages:  p50 {figures['case_p50_ms']} ms, p95 {figures['case_p95_ms']} ms, "
        f"max {figures['case_max_ms']} ms ({len(case_times)} requests)"
    )
    ok = figures["queue_p95_ms"] <= TARGET_MS and figures["case_p95_ms"] <= TARGET_MS
    print(f"target p95 ≤ {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    if loaded["cases"] == parser.get_default("cases"):
        write_result("workbench", figures)
    else:
        # A quick run with fewer cases must not overwrite the acceptance figures.
        write_result(f"workbench_{loaded['cases']}", figures)


if __name__ == "__main__":
    main()
