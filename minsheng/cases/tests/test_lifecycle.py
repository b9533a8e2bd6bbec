"""The life of a case through the actions, as each role would drive it."""

import datetime as dt

import pytest
from django.utils import timezone

from minsheng.appeals.choices import Channel
from minsheng.cases import actions
from minsheng.cases.choices import CaseState, CloseReason, EventAction
from minsheng.cases.models import Case, CaseEvent
from minsheng.cases.tests.cast import luokou, person, unit
from minsheng.categories.models import Category
from minsheng.core import clock
from minsheng.core.errors import ConcurrentChange, Forbidden, InvalidInput, InvalidTransition

pytestmark = pytest.mark.django_db

# A Tuesday morning in an ordinary working week.
MONDAY_9 = timezone.make_aware(dt.datetime(2026, 11, 24, 9, 30))


def register(**overrides) -> Case:
    data = {
        "actor": person("dispatcher"),
        "channel": Channel.PHONE,
        "content": "楼下烧烤店每天营业到凌晨两点，噪音很大，老人孩子休息不了。",
        "appellant_phone": "13905310001",
        "category": Category.objects.get(code="noise"),
    }
    data.update(overrides)
    return actions.register_appeal(**data).case


def dispatched() -> Case:
    case = register()
    return actions.dispatch_case(case, luokou(), actor=person("dispatcher"))


def in_progress() -> Case:
    case = dispatched()
    return actions.accept_case(case, actor=person("luokou"))


def test_register_opens_a_case_with_one_event():
    case = register()
    assert case.state == CaseState.REGISTERED
    assert case.number.startswith(timezone.localtime(case.registered_at).strftime("%Y%m%d"))
    assert list(case.events.values_list("action", "to_state")) == [
        (EventAction.REGISTER, CaseState.REGISTERED)
    ]
    assert case.appeals.get().appellant_phone == "13905310001"


def test_register_refuses_empty_content():
    with pytest.raises(InvalidInput) as error:
        register(content="   ")
    assert error.value.field == "content"


def test_dispatch_to_a_station_is_direct_and_sets_deadlines():
    with clock.frozen_at(MONDAY_9):
        case = dispatched()
    assert case.state == CaseState.DISPATCHED
    assert case.direct is True
    # 2 working hours from 09:30 → 11:30 the same day; noise is a complaint: 5 working days.
    assert timezone.localtime(case.accept_due_at) == timezone.make_aware(dt.datetime(2026, 11, 24, 11, 30))
    assert timezone.localtime(case.complete_due_at).date() == dt.date(2026, 12, 1)


def test_dispatch_to_a_branch_is_not_direct():
    case = actions.dispatch_case(register(), unit("天桥分局"), actor=person("dispatcher"))
    assert case.direct is False


def test_station_officer_cannot_dispatch():
    with pytest.raises(Forbidden):
        actions.dispatch_case(register(), luokou(), actor=person("luokou"))


def test_only_the_responsible_station_accepts():
    case = dispatched()
    with pytest.raises(Forbidden):
        actions.accept_case(case, actor=person("gongren"))
    actions.accept_case(case, actor=person("luokou"))
    assert case.state == CaseState.IN_PROGRESS
    assert case.handler == person("luokou")


def test_accepting_twice_is_an_invalid_transition():
    case = in_progress()
    with pytest.raises(InvalidTransition):
        actions.accept_case(case, actor=person("luokou"))


def test_a_stale_copy_loses_the_race():
    case = dispatched()
    stale = Case.objects.get(pk=case.pk)
    actions.accept_case(case, actor=person("luokou"))
    with pytest.raises(ConcurrentChange):
        actions.return_case(stale, actor=person("luokou"), reason="非我辖区")
    assert CaseEvent.objects.filter(case=case, action=EventAction.RETURN).count() == 0


def test_return_needs_a_reason_and_goes_back_to_dispatch():
    case = dispatched()
    with pytest.raises(InvalidInput):
        actions.return_case(case, actor=person("luokou"), reason="")
    actions.return_case(case, actor=person("luokou"), reason="该地址属于北园辖区")
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED
    assert case.responsible_unit is None
    assert case.return_count == 1
    actions.dispatch_case(case, unit("工人新村北村派出所"), actor=person("dispatcher"))
    assert case.state == CaseState.DISPATCHED


def test_extension_moves_the_deadline_only_when_approved():
    with clock.frozen_at(MONDAY_9):
        case = in_progress()
        due = case.complete_due_at
        actions.request_extension(case, actor=person("luokou"), days=3, reason="需协调城管联合执法")
        with pytest.raises(InvalidTransition):
            actions.request_extension(case, actor=person("luokou"), days=2, reason="再次申请")
        with pytest.raises(Forbidden):
            actions.decide_extension(case, actor=person("luokou_head"), approve=True)
        actions.decide_extension(case, actor=person("tianqiao_sup"), approve=False, note="应按期办结")
        case.refresh_from_db()
        assert case.complete_due_at == due
        actions.request_extension(case, actor=person("luokou"), days=3, reason="当事人外出，需等待")
        actions.decide_extension(case, actor=person("tianqiao_sup"), approve=True)
        case.refresh_from_db()
    assert timezone.localtime(case.complete_due_at).date() == dt.date(2026, 12, 4)


def test_complete_then_satisfied_closes():
    case = in_progress()
    actions.complete_case(
        case, actor=person("luokou"), result="已约谈店主", reply="已责令烧烤店22点前停止营业。"
    )
    assert case.state == CaseState.COMPLETED
    with pytest.raises(Forbidden):
        actions.record_followup(case, actor=person("luokou"), answer="satisfied")
    actions.record_followup(case, actor=person("followup"), answer="satisfied")
    assert case.state == CaseState.CLOSED
    assert case.close_reason == CloseReason.SATISFIED


def test_dissatisfied_twice_escalates_to_level_three_and_investigation_closes():
    case = in_progress()
    actions.complete_case(case, actor=person("luokou"), result="已调解", reply="已调解")
    actions.record_followup(case, actor=person("followup"), answer="dissatisfied", note="没解决")
    assert (case.state, case.followup_level) == (CaseState.IN_PROGRESS, 2)
    event = case.events.last()
    assert "天桥分局" in event.data["notified"]
    actions.complete_case(case, actor=person("luokou"), result="再次约谈", reply="已再次处理")
    actions.record_followup(case, actor=person("followup"), answer="dissatisfied")
    assert (case.state, case.followup_level) == (CaseState.INVESTIGATING, 3)
    with pytest.raises(InvalidInput):
        actions.record_investigation(
            case, actor=person("inspector"), findings="查明", conclusion="结论", internal_fault=True
        )
    actions.record_investigation(
        case,
        actor=person("inspector"),
        findings="查明民警未按时回复",
        conclusion="责令整改",
        internal_fault=True,
        fault_detail="回复不及时",
    )
    assert case.state == CaseState.CLOSED
    assert case.close_reason == CloseReason.INVESTIGATED


def test_unreachable_is_closed_as_unreachable():
    case = in_progress()
    actions.complete_case(case, actor=person("luokou"), result="处理", reply="答复")
    actions.record_followup(case, actor=person("followup"), answer="unreachable")
    assert case.close_reason == CloseReason.UNREACHABLE


def test_instant_reply_goes_straight_to_follow_up():
    case = register(
        category=Category.objects.get(code="hukou"), instant_reply="新生儿落户需携带出生医学证明。"
    )
    assert case.state == CaseState.COMPLETED
    assert [e.action for e in case.events.all()] == [EventAction.REGISTER, EventAction.INSTANT_COMPLETE]


def test_close_without_follow_up_only_when_none_is_possible():
    case = in_progress()
    actions.complete_case(case, actor=person("luokou"), result="处理", reply="答复")
    with pytest.raises(Forbidden):
        actions.close_case(case, actor=person("dispatcher"))
    anonymous = register(appellant_phone="")
    actions.dispatch_case(anonymous, luokou(), actor=person("dispatcher"))
    actions.accept_case(anonymous, actor=person("luokou"))
    actions.complete_case(anonymous, actor=person("luokou"), result="处理", reply="答复")
    actions.close_case(anonymous, actor=person("dispatcher"))
    assert anonymous.close_reason == CloseReason.NO_FOLLOWUP


def test_inspectors_read_but_cannot_handle():
    case = dispatched()
    assert Case.objects.visible_to(person("inspector")).filter(pk=case.pk).exists()
    with pytest.raises(Forbidden):
        actions.accept_case(case, actor=person("inspector"))


def test_overdue_is_noted_once():
    with clock.frozen_at(MONDAY_9):
        case = dispatched()
    later = MONDAY_9 + dt.timedelta(days=1)
    assert actions.mark_overdue(case, now=later) is True
    assert actions.mark_overdue(Case.objects.get(pk=case.pk), now=later) is False
    assert case.events.filter(action=EventAction.ACCEPT_OVERDUE).count() == 1
