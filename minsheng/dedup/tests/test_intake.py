"""自动比对 at intake: the same matter through several doors is handled once and counted once."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from minsheng.appeals.choices import Channel, LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases import actions
from minsheng.cases.choices import CaseState, CloseReason, EventAction, FollowupAnswer
from minsheng.cases.models import Case
from minsheng.cases.stats import daily_dispatch
from minsheng.cases.tests.cast import luokou, person
from minsheng.core.errors import Forbidden, InvalidInput
from minsheng.dedup import actions as dedup_actions
from minsheng.dedup import service as dedup_service
from minsheng.dedup.models import DuplicateSuggestion, SuggestionState
from minsheng.intake import service
from minsheng.intake.service import AppealInput

pytestmark = pytest.mark.django_db

BBQ = "历下区甸柳新村三区12号楼楼下的烧烤摊每天晚上营业到凌晨两点，油烟和噪音严重影响居民休息，希望派出所管一管。"
BBQ_RETOLD = "我之前打过12345，甸柳新村三区12号楼下烧烤摊天天开到半夜两点，吵得没法睡觉，至今没人处理。"
BBQ_NEIGHBOUR = "甸柳新村三区12号楼下面烧烤摊夜里营业到两点多，噪音和油烟太大，孩子没法睡觉。"
BBQ_ELSEWHERE = BBQ.replace("三区12号楼", "五区3号楼")


def arrive(
    content: str, *, phone: str = "13905311234", channel=Channel.HOTLINE_12345, days: float = 0, **extra
):
    """An appeal through the one intake service, ``days`` after the first."""
    received = timezone.now() - dt.timedelta(days=40) + dt.timedelta(days=days)
    data = AppealInput(
        channel=channel,
        content=content,
        appellant_phone=phone,
        received_at=received.isoformat(),
        address=extra.pop("address", ""),
        **extra,
    )
    return service.register(service.clean(data), source="")


def test_the_same_person_through_another_channel_joins_the_open_case():
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    again = arrive(BBQ_RETOLD, channel=Channel.CHIEF_MAILBOX, days=2)
    assert again.case_id == first.case_id
    assert again.link_kind == LinkKind.LINKED and first.link_kind == LinkKind.MASTER
    assert Case.objects.count() == 1
    assert again.dedup["decision"] == "link"
    assert "同一手机号" in again.dedup["reasons"]
    assert any(r.startswith("不同渠道：12345热线/局长信箱") for r in again.dedup["reasons"])
    linked = first.case.events.get(action=EventAction.LINK_APPEAL)
    assert linked.data["appeal_id"] == again.pk and "局长信箱" in linked.note


def test_neighbours_reporting_the_same_event_are_one_case():
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    neighbour = arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    assert neighbour.case_id == first.case_id
    assert neighbour.link_kind == LinkKind.LINKED


def test_the_same_wording_about_another_place_stays_a_separate_case():
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    other = arrive(BBQ_ELSEWHERE, phone="13705312222", days=1, address="历下区甸柳新村五区3号楼")
    assert other.case_id != first.case_id
    assert other.link_kind == LinkKind.MASTER
    assert any("楼栋不同" in reason for reason in other.dedup["reasons"])


def test_a_possible_duplicate_is_linked_in_one_click_and_the_case_is_handled_once(client):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    other = arrive(BBQ_ELSEWHERE, phone="13705312222", days=1, address="历下区甸柳新村五区3号楼")
    suggestion = DuplicateSuggestion.objects.get(case=other.case)
    assert suggestion.candidate_case == first.case and suggestion.state == SuggestionState.PENDING

    client.force_login(person("dispatcher"))
    page = client.get(reverse("case-detail", args=[other.case.number])).content.decode()
    assert "疑似与工单" in page and first.case.number in page and "楼栋不同" in page

    response = client.post(reverse("case-duplicate", args=[other.case.number, suggestion.pk, "link"]))
    assert response.status_code == 302 and first.case.number in response["Location"]
    merged = Case.objects.get(pk=other.case_id)
    assert merged.state == CaseState.CLOSED and merged.close_reason == CloseReason.MERGED
    assert set(first.case.appeals.values_list("pk", flat=True)) == {first.pk, other.pk}
    assert Appeal.objects.get(pk=other.pk).link_kind == LinkKind.LINKED
    assert merged.events.filter(action=EventAction.MERGE).count() == 1
    assert first.case.events.filter(action=EventAction.LINK_APPEAL).count() == 1
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.LINKED and suggestion.decided_by == person("dispatcher")


def test_a_possible_duplicate_dismissed_stays_apart_and_a_stranger_may_not_decide(client):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    other = arrive(BBQ_ELSEWHERE, phone="13705312222", days=1, address="历下区甸柳新村五区3号楼")
    suggestion = DuplicateSuggestion.objects.get(case=other.case)
    with pytest.raises(Forbidden):
        dedup_actions.dismiss_suggestion(suggestion, actor=person("gongren"))
    client.force_login(person("dispatcher"))
    client.post(reverse("case-duplicate", args=[other.case.number, suggestion.pk, "dismiss"]))
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.DISMISSED
    assert other.case.events.filter(action=EventAction.DISMISS_DUPLICATE).count() == 1
    assert Case.objects.get(pk=other.case_id).is_open and first.case.appeals.count() == 1


def test_a_link_is_split_with_a_reason_and_the_index_follows():
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    neighbour = arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    assert neighbour.case_id == first.case_id
    with pytest.raises(InvalidInput):
        dedup_actions.split_appeal(neighbour, actor=person("dispatcher"), reason=" ")
    with pytest.raises(Forbidden):
        dedup_actions.split_appeal(neighbour, actor=person("lixia"), reason="另一处烧烤摊")

    new_case = dedup_actions.split_appeal(
        neighbour, actor=person("dispatcher"), reason="是对面楼的另一家烧烤摊"
    )
    neighbour.refresh_from_db()
    assert neighbour.case == new_case and neighbour.link_kind == LinkKind.MASTER
    assert list(first.case.appeals.all()) == [first]
    old_event = first.case.events.get(action=EventAction.SPLIT_APPEAL)
    assert new_case.number in old_event.note and "对面楼" in old_event.note
    assert new_case.events.get(action=EventAction.SPLIT_APPEAL).data["split_from"] == first.case.number
    # The index knows the appeal moved: the same neighbour writing again joins the split-off case.
    again = arrive(BBQ_NEIGHBOUR + "还是没人管。", phone="13805319999", days=2, address="历下区甸柳新村三区")
    assert again.case_id == new_case.pk


def _answered(case: Case) -> Case:
    if case.responsible_unit != luokou():
        case = actions.dispatch_case(case, luokou(), actor=person("dispatcher"))
    case = actions.accept_case(case, actor=person("luokou"))
    case = actions.complete_case(case, actor=person("luokou"), result="已取缔", reply="烧烤摊已依法取缔。")
    return actions.record_followup(case, actor=person("followup"), answer=FollowupAnswer.SATISFIED)


def test_the_same_matter_after_closure_is_a_repeat_appeal_with_its_history_and_counted(client):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    old = _answered(Case.objects.get(pk=first.case_id))
    assert old.state == CaseState.CLOSED
    again = arrive(BBQ, days=35, address="历下区甸柳新村三区12号楼")
    assert again.case_id != old.pk
    assert again.link_kind == LinkKind.REPEAT
    assert again.case.repeat_of == old
    assert again.dedup["decision"] == "repeat" and again.dedup["case_number"] == old.number

    client.force_login(person("dispatcher"))
    page = client.get(reverse("case-detail", args=[again.case.number])).content.decode()
    assert "重复诉求" in page and old.number in page and "烧烤摊已依法取缔" in page
    old_page = client.get(reverse("case-detail", args=[old.number])).content.decode()
    assert again.case.number in old_page

    day = timezone.localdate(again.registered_at)
    row = daily_dispatch(Case.objects.all(), days=1, today=day)[0]
    assert row["repeats"] == 1


def test_the_workbench_counts_linked_appeals():
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    today = timezone.localdate()
    row = daily_dispatch(Case.objects.all(), days=1, today=today)[0]
    assert (row["appeals"], row["linked"], row["repeats"]) == (2, 1, 0)
    assert first.case.appeals.count() == 2


def test_the_index_comes_back_from_its_snapshot_and_the_journal(monkeypatch):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    dedup_service.index().save()
    # After the snapshot, one more appeal: only the journal knows it.
    neighbour = arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    dedup_service.reset()  # a restart

    def no_rebuild(self, progress=None):
        raise AssertionError("the snapshot should have been used")

    monkeypatch.setattr(dedup_service.Index, "rebuild", no_rebuild)
    again = arrive(BBQ_RETOLD, channel=Channel.CHIEF_MAILBOX, days=2)
    assert again.case_id == first.case_id
    assert str(neighbour.pk) in dedup_service.index().detector


def test_the_rebuild_command_reads_every_appeal(capsys, settings, tmp_path):
    settings.DEDUP_INDEX_DIR = str(tmp_path)
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    arrive("咨询出入境证件办理需要哪些材料。", phone="13600001111", days=1)
    call_command("dedup", "rebuild")
    out = capsys.readouterr()
    assert "比对索引已重建：2 件诉求" in out.out
    assert len(list(tmp_path.glob("index-*.npz"))) == 1
    dedup_service.reset()
    # A snapshot from another database (its epoch differs) is never trusted.
    from minsheng.dedup.models import IndexLock

    IndexLock.objects.filter(pk=1).update(epoch="elsewhere")
    again = arrive(BBQ_RETOLD, channel=Channel.CHIEF_MAILBOX, days=2)
    assert again.case_id == first.case_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the concurrency guarantee is PostgreSQL's")
def test_two_workers_taking_near_identical_appeals_at_once_make_one_case_and_one_link(world):
    barrier = threading.Barrier(2)
    results, errors = [], []
    # Each worker stops right after its comparison for a moment, so without the lock both would
    # compare before either had written: two new cases.
    original = dedup_service.decide

    def slow_decide(matches):
        outcome = original(matches)
        threading.Event().wait(0.3)
        return outcome

    dedup_service.decide = slow_decide

    def worker(text, phone):
        try:
            barrier.wait()
            results.append(arrive(text, phone=phone, address="历下区甸柳新村三区12号楼"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    try:
        threads = [
            threading.Thread(target=worker, args=(BBQ, "13905311234")),
            threading.Thread(target=worker, args=(BBQ_NEIGHBOUR, "13805319999")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        dedup_service.decide = original
    assert not errors, errors
    assert Case.objects.count() == 1
    kinds = sorted(Appeal.objects.values_list("link_kind", flat=True))
    assert kinds == [LinkKind.LINKED, LinkKind.MASTER]


def test_the_worker_snapshot_task_saves_what_a_restart_loads(settings, tmp_path):
    from minsheng.dedup.tasks import snapshot

    settings.DEDUP_INDEX_DIR = str(tmp_path)
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    assert snapshot.call() == 1
    assert (tmp_path / "index.json").exists() and len(list(tmp_path.glob("index-*.npz"))) == 1
    dedup_service.reset()
    assert dedup_service.index()._load_snapshot()
    assert str(first.pk) in dedup_service.index().detector


def test_the_api_shows_the_verdict_and_takes_the_decisions(client):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    other = arrive(BBQ_ELSEWHERE, phone="13705312222", days=1, address="历下区甸柳新村五区3号楼")
    neighbour = arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    client.force_login(person("dispatcher"))
    detail = client.get(f"/api/v1/cases/{other.case.number}/").json()
    (suggestion,) = detail["duplicate_suggestions"]
    assert suggestion["candidate_case"] == first.case.number and suggestion["state"] == "pending"
    assert detail["appeals"][0]["dedup"]["decision"] == "suggest"

    wrong = client.post(
        f"/api/v1/cases/{other.case.number}/duplicate-decision/",
        {"suggestion": suggestion["id"], "decision": "merge"},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and "decision" in str(wrong.json())
    answer = client.post(
        f"/api/v1/cases/{other.case.number}/duplicate-decision/",
        {"suggestion": suggestion["id"], "decision": "dismiss", "note": "两处不同的烧烤摊"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert DuplicateSuggestion.objects.get(pk=suggestion["id"]).state == SuggestionState.DISMISSED

    no_reason = client.post(
        f"/api/v1/cases/{first.case.number}/split/", {"appeal": neighbour.pk}, content_type="application/json"
    )
    assert no_reason.status_code == 400
    split = client.post(
        f"/api/v1/cases/{first.case.number}/split/",
        {"appeal": neighbour.pk, "reason": "不是同一家"},
        content_type="application/json",
    )
    assert split.status_code == 201
    assert Appeal.objects.get(pk=neighbour.pk).case.number == split.json()["number"] != first.case.number


def test_the_loaded_index_is_left_out_of_garbage_collection_and_freed_when_replaced(monkeypatch):
    """``core.heap``: a loaded index (large enough) is frozen out of the collector's passes; a rebuild
    thaws it, so the index it replaces is freed."""
    import gc

    from minsheng.core import heap

    monkeypatch.setattr(heap, "FREEZE_FROM", 1)
    threshold = gc.get_threshold()
    try:
        _frozen_and_freed(heap)
    finally:  # the rest of the test process as it was
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _frozen_and_freed(heap):
    import gc
    import weakref

    arrive(BBQ, address="历下区甸柳新村三区12号楼")
    dedup_service.reset()
    detector = dedup_service.index().ensure()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] >= heap.YOUNG
    tracked = {id(o) for o in gc.get_objects()}
    assert id(detector._index_of) not in tracked  # frozen: no collection walks it

    before = weakref.ref(detector)
    del detector
    arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1)
    dedup_service.reset()  # a restart of the index: rebuilt from the database
    assert len(dedup_service.index().ensure()) == 2
    assert before() is None
