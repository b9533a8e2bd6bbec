"""The worker's batch registration (``intake.bulk``) does exactly what one payload at a time does."""

import datetime as dt
import json
import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from minsheng.appeals.choices import LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.core import clock
from minsheng.core.rows import Columns
from minsheng.dedup import service as dedup_service
from minsheng.dedup.models import DuplicateSuggestion, IndexChange
from minsheng.dedup.tests.test_intake import BBQ, BBQ_ELSEWHERE, BBQ_NEIGHBOUR, BBQ_RETOLD, _answered
from minsheng.intake import bulk, service
from minsheng.intake.models import Partner, PayloadStatus, RawPayload
from minsheng.routing.hooks import system_dispatcher

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)  # a Wednesday: deadlines in plain working days
HERE = "甸柳新村三区12号楼"
NEW_PLACE = "甸柳新村七区8号楼"
WHERE = "历下区甸柳新村街道" + NEW_PLACE  # sure enough for a direct dispatch
THEFT = "本人电动车停放在泺口街道清河苑5号楼楼下，今天早上发现被盗，车辆为蓝色，请民警调取监控帮助查找。"


def order(
    ref: str, content: str, phone: str, *, days_ago: float = 0, address: str = "", kind: str = ""
) -> dict:
    called = timezone.localtime(NOW - dt.timedelta(days=days_ago))
    return {
        "工单编号": ref,
        "来电时间": called.strftime("%Y-%m-%d %H:%M:%S"),
        "来电人": "市民",
        "来电号码": phone,
        "诉求内容": content,
        "诉求地址": address,
        "诉求类型": kind,
    }


def store(record: dict) -> RawPayload:
    return service.store_raw(
        channel="hotline_12345",
        transport="push",
        source="jn12345",
        body=json.dumps(record, ensure_ascii=False).encode(),
    )


@pytest.fixture
def before():
    """Two matters already registered one at a time: one still open, one answered and closed."""
    Partner.objects.create(code="jn12345", name="济南12345热线", channel="hotline_12345")
    system_dispatcher()  # made once here, not once in each run (ids from a sequence are not rolled back)
    with clock.frozen_at(NOW - dt.timedelta(days=3)):
        opened = service.process_with_parser(
            store(order("OPEN", BBQ, "13905311234", days_ago=3, address=HERE))
        )
        closed = service.process_with_parser(
            store(order("DONE", THEFT, "13905312222", days_ago=3, address="天桥区泺口街道清河苑"))
        )
        _answered(closed.appeal.case)
    assert opened.appeal.case_id != closed.appeal.case_id
    return opened.appeal, Case.objects.get(pk=closed.appeal.case_id)


def the_batch() -> list[RawPayload]:
    return [
        store(order("B1", BBQ_RETOLD, "13905311234")),  # the open matter, told again: 关联件
        store(
            order("B2", BBQ.replace(HERE, NEW_PLACE), "13805310001", address=WHERE, kind="噪音扰民")
        ),  # new
        store(order("B3", BBQ_NEIGHBOUR.replace(HERE, NEW_PLACE), "13805310002")),  # joins B2's case
        store(order("B4", BBQ_ELSEWHERE, "13705312222", address="甸柳新村五区3号楼")),  # another building
        store(order("B5", BBQ, "12")),  # a bad phone: quarantined
        store(order("B2", BBQ.replace(HERE, NEW_PLACE), "13805310001")),  # B2 pushed twice in the batch
        store(order("OPEN", BBQ, "13905311234", days_ago=3, address=HERE)),  # received before
        store(order("B8", THEFT, "13905312222")),  # the closed matter again: 重复诉求
    ]


def outcome(payloads: list[RawPayload]) -> list:
    """What the payloads became, with the ids of rows made here replaced by their order of appearance
    (the two runs take different ids from the sequences)."""
    names: dict[tuple[str, int], str] = {}

    def name(kind: str, pk):
        if pk is None:
            return None
        if kind == "case" and pk not in made_cases:
            return f"old case {pk}"
        if kind == "appeal" and pk not in made_appeals:
            return f"old appeal {pk}"
        return names.setdefault((kind, pk), f"{kind} {len([k for k in names if k[0] == kind]) + 1}")

    fresh = [RawPayload.objects.get(pk=p.pk) for p in payloads]
    made_appeals = set(
        Appeal.objects.filter(pk__in=[p.appeal_id for p in fresh if p.status == "processed"]).values_list(
            "pk", flat=True
        )
    )
    made_cases = set(  # opened by one of them (a linked appeal joins a case that may be older)
        Appeal.objects.filter(pk__in=made_appeals)
        .exclude(link_kind=LinkKind.LINKED)
        .values_list("case_id", flat=True)
    )

    def verdict(data: dict) -> dict:
        data = {k: v for k, v in data.items() if k not in ("case_number", "at")}
        if "case_id" in data:
            data["case_id"], data["appeal_id"] = (
                name("case", data["case_id"]),
                name("appeal", data["appeal_id"]),
            )
        data["candidates"] = [
            {
                **c,
                "case_id": name("case", c["case_id"]),
                "appeal_id": name("appeal", c["appeal_id"]),
                "case_number": 0,
            }
            for c in data.get("candidates", [])
        ]
        return data

    rows = []
    for payload in fresh:
        row = [payload.status, payload.error_field, name("appeal", payload.appeal_id)]
        if payload.status == PayloadStatus.PROCESSED:
            appeal = payload.appeal
            case = appeal.case
            row += [
                appeal.link_kind,
                appeal.township_id,
                appeal.category_id,
                verdict(appeal.dedup),
                name("case", case.pk),
                case.number.endswith(f"{case.pk:07d}"),
                case.state,
                case.responsible_unit_id,
                case.direct,
                case.category_id,
                (case.district_code, case.township_code, case.community_code),
                name("case", case.repeat_of_id),
                (case.dispatched_at, case.accept_due_at, case.complete_due_at),
                {k: v for k, v in case.triage.items()},
                [
                    (
                        e.action,
                        e.actor_id,
                        e.actor_unit_id,
                        e.from_state,
                        e.to_state,
                        e.note,
                        {
                            **e.data,
                            **(
                                {"appeal_id": name("appeal", e.data["appeal_id"])}
                                if "appeal_id" in e.data
                                else {}
                            ),
                        },
                    )
                    for e in case.events.order_by("at", "pk")
                ],
                sorted(
                    (
                        name("case", s.candidate_case_id),
                        name("appeal", s.candidate_appeal_id),
                        s.score,
                        s.reasons,
                    )
                    for s in DuplicateSuggestion.objects.filter(appeal=appeal)
                ),
                list(IndexChange.objects.filter(appeal=appeal).values_list("case_id", flat=True))
                == [appeal.case_id],
            ]
        rows.append(row)
    return rows


def run(how) -> tuple[list, int]:
    """The batch taken ``how``, then undone (the test's own savepoint), the index forgotten."""
    dedup_service.reset()
    undo = transaction.atomic()
    undo._from_testcase = True  # lets the durable transaction of ``process_next`` run inside it
    with undo, clock.frozen_at(NOW):
        payloads = the_batch()
        with CaptureQueriesContext(connection) as statements:
            how([p.pk for p in payloads])
        result = outcome(payloads)
        transaction.set_rollback(True)
    dedup_service.reset()
    return result, len(statements)


def one_by_one(ids: list[int]) -> None:
    for pk in ids:
        service.process_with_parser(RawPayload.objects.get(pk=pk))


def test_a_batch_makes_exactly_what_one_payload_at_a_time_makes(before):
    opened, closed = before
    singly, statements_singly = run(one_by_one)
    batched, statements_batched = run(lambda ids: bulk.process_next(["jn12345"]))
    assert batched == singly
    # The point of the batch: a handful of statements per table, not a few dozen per appeal.
    assert statements_batched * 3 < statements_singly, (statements_batched, statements_singly)

    # And what that is, read in plain terms.
    b1, b2, b3, b4, b5, b2_again, known, b8 = batched
    assert b1[0] == "processed" and b1[3] == LinkKind.LINKED and b1[7] == f"old case {opened.case_id}"
    assert b2[3] == LinkKind.MASTER and b2[7] == "case 1"
    assert b3[3] == LinkKind.LINKED and b3[7] == "case 1", (
        "an appeal joins a case opened earlier in its batch"
    )
    assert b4[3] == LinkKind.MASTER and b4[7] == "case 2"
    assert any("楼栋不同" in reason for reason in b4[6]["reasons"])
    assert b5[:2] == ["quarantined", "appellant_phone"]
    assert b2_again[0] == "duplicate" and b2_again[2] == b2[2]
    assert known[0] == "duplicate" and known[2] == f"old appeal {opened.pk}"
    assert b8[3] == LinkKind.REPEAT and b8[6]["decision"] == "repeat" and b8[14] == f"old case {closed.pk}"
    assert all(row[-1] for row in batched if row[0] == "processed"), "every appeal is in the index journal"
    assert any(row[9] == CaseState.DISPATCHED for row in batched if row[0] == "processed")


def test_another_process_learns_a_committed_batch_from_the_journal(before):
    other = dedup_service.Index()  # another worker's index, up to date before the batch
    other.ensure()
    with clock.frozen_at(NOW):
        payloads = the_batch()
        assert bulk.process_next(["jn12345"]) == (len(payloads), len(payloads))
    made = list(
        Appeal.objects.filter(
            pk__in=RawPayload.objects.filter(pk__in=[p.pk for p in payloads], status="processed").values(
                "appeal_id"
            )
        )
    )
    # The journal carries each appeal's places and band keys, which the other index takes instead of
    # deriving them again: the same as it would have derived.
    shipped = dict(IndexChange.objects.filter(appeal__in=made).values_list("appeal_id", "places"))
    assert all(isinstance(places, list) for places in shipped.values()) and any(shipped.values())
    taken = []
    real = other.detector.features

    def features(record, places=None, bands=None):
        assert places is not None and bands is not None, "derived again"
        taken.append((record, places, bands))
        return real(record, places=places, bands=bands)

    other.detector.features = features
    assert other.catch_up() == len(made) == 5
    del other.detector.features
    assert len(taken) == 5
    for record, places, bands in taken:
        assert places == other.detector.places_of(record)
        assert [[p.kind, p.name, p.core] for p in places] == shipped[int(record.id)]
        assert bands.tolist() == other.detector._bands(other.detector.features(record)).tolist()
    # Each appeal in the case it joined: B3 in the case B2 opened within the batch.
    assert {other.detector.group_of(str(a.pk)) for a in made} == {f"c{a.case_id}" for a in made}
    b2, b3 = (RawPayload.objects.get(pk=payloads[i].pk).appeal for i in (1, 2))
    assert other.detector.group_of(str(b3.pk)) == other.detector.group_of(str(b2.pk)) == f"c{b2.case_id}"


def test_after_a_day_the_journal_drops_what_it_shipped_and_a_late_process_derives_it(before):
    from minsheng.dedup.tasks import thin_journal

    late = dedup_service.Index()  # a process that catches up only after the rows were thinned
    late.ensure()
    with clock.frozen_at(NOW):
        the_batch()
        bulk.process_next(["jn12345"])
    shipped = IndexChange.objects.filter(places__isnull=False, bands__isnull=False)
    rows = list(shipped.order_by("seq").values_list("seq", "appeal_id", "case_id"))
    assert len(rows) >= 5
    IndexChange.objects.filter(seq__in=[seq for seq, *_ in rows[:3]]).update(at=NOW - dt.timedelta(days=2))
    with clock.frozen_at(NOW):
        assert thin_journal.call() == 3
        assert thin_journal.call() == 0
    assert shipped.count() == len(rows) - 3
    assert not IndexChange.objects.filter(seq__in=[seq for seq, *_ in rows[:3]], bands__isnull=False).exists()
    assert late.catch_up() >= len(rows)
    for _, appeal_id, case_id in rows:
        assert late.detector.group_of(str(appeal_id)) == f"c{case_id}"
    # Derived again for the thinned rows, shipped for the others: the same as a rebuild reads.
    rebuilt = dedup_service.Index()
    rebuilt.ensure()

    def places(detector, appeal_id):
        row = detector._places.row(detector._index_of[str(appeal_id)])
        return [detector._place_names.table[i] for i in row]

    for _, appeal_id, _ in rows:
        assert places(late.detector, appeal_id) == places(rebuilt.detector, appeal_id)
    assert any(places(late.detector, appeal_id) for _, appeal_id, _ in rows[:3])


def test_a_batch_that_fails_writes_nothing_and_forgets_what_it_indexed(before, monkeypatch):
    with clock.frozen_at(NOW):
        payloads = the_batch()
        before_index = dedup_service.index()

        def broken(self):
            raise RuntimeError("disk full")

        monkeypatch.setattr(bulk._Writer, "save", broken)
        undo = transaction.atomic()
        undo._from_testcase = True
        with pytest.raises(bulk.BatchFailed) as failed, undo:
            bulk.process_next(["jn12345"])
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert dedup_service.index() is not before_index, "the index holding uncommitted appeals is dropped"
    assert RawPayload.objects.filter(pk__in=[p.pk for p in payloads], status="pending").count() == len(
        payloads
    )
    assert not Appeal.objects.filter(external_ref__startswith="B").exists()


def test_a_payload_that_breaks_its_batch_is_isolated_and_the_others_are_registered(before, monkeypatch):
    from minsheng.intake import tasks
    from minsheng.routing import hooks

    real = hooks.triage_appeal

    def fragile(title, content, *args, **kwargs):
        if "BOOM" in content:
            raise RuntimeError("a bug met by one work order")
        return real(title, content, *args, **kwargs)

    monkeypatch.setattr(hooks, "triage_appeal", fragile)  # the one-by-one path looks it up here
    monkeypatch.setattr(bulk, "triage_appeal", fragile)
    Partner.objects.filter(code="jn12345").update(answer_on_receipt=True)
    monkeypatch.setattr(tasks, "QUIET_S", 0.0)
    with clock.frozen_at(NOW):
        good = [store(order(f"G{n}", THEFT.replace("5号楼", f"{n}号楼"), f"1390531000{n}")) for n in range(3)]
        bad = store(order("BAD", "BOOM " + THEFT, "13905319999"))
        assert tasks.process_received.call() == 3
    statuses = dict(
        RawPayload.objects.filter(pk__in=[p.pk for p in [*good, bad]]).values_list("pk", "status")
    )
    assert [statuses[p.pk] for p in good] == ["processed"] * 3
    assert statuses[bad.pk] == "pending", "left for the sweep, which counts its tries and quarantines it"


def test_a_unit_switched_off_elsewhere_gets_no_case_from_either_path(before):
    from minsheng.routing.triage import router
    from minsheng.units.models import Unit

    first, _ = run(lambda ids: bulk.process_next(["jn12345"]))
    b2 = first[1]
    assert b2[9] == CaseState.DISPATCHED and b2[10] is not None
    # Switched off by another process: this one's router still holds the unit (for up to a minute).
    assert router().by_id[b2[10]].active
    Unit.objects.filter(pk=b2[10]).update(active=False)
    assert router().by_id[b2[10]].active

    singly, _ = run(one_by_one)
    batched, _ = run(lambda ids: bulk.process_next(["jn12345"]))
    assert batched == singly
    b2 = batched[1]
    assert b2[9] == CaseState.REGISTERED and b2[10] is None, "left for the dispatchers"
    assert b2[16]["direct"], "triage was sure: only the unit's state kept the case back"


def test_the_batch_writes_each_value_as_the_orm_would_prepare_it(before, monkeypatch):
    """``core.rows.Columns`` passes plain values through unprepared: it must give what the fields would."""
    checked: dict[str, int] = {}
    insert_rows = bulk._insert_rows

    def comparing(model, rows):
        if rows:
            columns = Columns.of(model, rows[0].pk is not None)
            for row in rows:
                fast = columns.values(row)
                for f, value in zip(columns.fields, fast, strict=True):
                    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                        continue  # stamped anew at each preparation
                    expected = f.get_db_prep_save(f.pre_save(row, True), connection)
                    # psycopg's JSON wrappers compare by identity: compare what they wrap
                    assert getattr(value, "obj", value) == getattr(expected, "obj", expected), (model, f.name)
                checked[model.__name__] = checked.get(model.__name__, 0) + 1
        insert_rows(model, rows)

    monkeypatch.setattr(bulk, "_insert_rows", comparing)
    with clock.frozen_at(NOW):
        assert len(the_batch()) == 8
        assert bulk.process_next(["jn12345"]) == (8, 8)
    assert {"Case", "Appeal", "IndexChange", "CaseEvent"} <= checked.keys()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_workers_share_the_queue_each_taking_the_payloads_nobody_holds():
    """A batch another worker holds is skipped, not waited for and not taken twice: the next worker
    claims the payloads after it, and the held ones are left to their holder."""
    Partner.objects.create(code="jn12345", name="济南12345热线", channel="hotline_12345")
    system_dispatcher()
    with clock.frozen_at(NOW):
        payloads = [
            store(order(f"Q{n}", THEFT.replace("5号楼", f"{n}号楼"), f"1390531100{n}")) for n in range(5)
        ]
    held, free = [p.pk for p in payloads[:2]], [p.pk for p in payloads[2:]]
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                assert len(list(RawPayload.objects.select_for_update().filter(pk__in=held))) == 2
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(30)
        with clock.frozen_at(NOW):
            assert bulk.process_next(["jn12345"]) == (3, 3)
            assert bulk.process_next(["jn12345"]) == (0, 0), "all that is left is held"
    finally:
        release.set()
        thread.join(30)
    statuses = dict(RawPayload.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in free] == ["processed"] * 3
    assert [statuses[pk] for pk in held] == ["pending"] * 2
    with clock.frozen_at(NOW):
        assert bulk.process_next(["jn12345"], exclude={held[0]}) == (1, 1)
        assert bulk.process_next(["other"]) == (0, 0), "only the partners asked for"
    assert RawPayload.objects.filter(status="processed").count() == 4
    dedup_service.reset()


def test_a_batch_that_fails_names_the_payloads_it_had_claimed(before, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bulk, "_register", broken)
    with clock.frozen_at(NOW):
        payloads = [store(order("F1", THEFT, "13905313333")), store(order("F2", THEFT, "13905314444"))]
        with pytest.raises(bulk.BatchFailed) as failed:
            bulk.process_next(["jn12345"])
    assert failed.value.payload_ids == [p.pk for p in payloads]
    assert set(
        RawPayload.objects.filter(pk__in=failed.value.payload_ids).values_list("status", flat=True)
    ) == {"pending"}
