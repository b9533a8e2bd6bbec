"""Acceptance: the follow-up over a real Kannel. Completion → the Chinese text reaches the fake SMS
centre; the citizen's 不满意 sent from it → level-2 escalation on the timeline; delivery reports update
the message."""

from collections import Counter

from minsheng.cases import actions
from minsheng.cases.choices import CaseState, EventAction
from minsheng.cases.models import Case
from minsheng.followup.models import FollowupRequest
from minsheng.sms.choices import DlrType, InboundSource, MessageState
from minsheng.sms.models import InboundMessage, Message
from minsheng.sms.sender import Sender
from tests.kannel.conftest import serialised, wait_for

PHONE = "13905310001"


def completed_case() -> Case:
    from minsheng.appeals.choices import Channel
    from minsheng.cases.tests.cast import luokou, person
    from minsheng.categories.models import Category

    case = actions.register_appeal(
        actor=person("dispatcher"),
        channel=Channel.HOTLINE_12345,
        title="烧烤店夜间噪音扰民",
        content="楼下烧烤店每天营业到凌晨两点，噪音很大，老人孩子休息不了。",
        appellant_phone=PHONE,
        category=Category.objects.get(code="noise"),
    ).case
    actions.dispatch_case(case, luokou(), actor=person("dispatcher"))
    actions.accept_case(case, actor=person("luokou"))
    return actions.complete_case(
        case, actor=person("luokou"), result="已约谈店主", reply="已责令烧烤店22时前停止营业"
    )


def test_follow_up_over_kannel(kannel):
    with serialised():
        case = completed_case()
        message = FollowupRequest.objects.get(case=case).message
        assert message.segments == 2
        sender = Sender()
        assert sender.backend.name == "kannel"
        stats = sender.run_until_idle(max_seconds=10)
        sender.close()
    assert stats.sent == 1

    # The right Chinese text, both parts put together, on the citizen's phone.
    [got] = kannel.wait_received(1)
    assert (got.receiver, got.sender, got.parts) == (PHONE, kannel.sender, 2)
    assert got.text == message.body
    assert f"工单号{case.number}" in got.text

    # Delivery reports (bearerbox's "accepted by SMSC" and the fake SMSC's "delivered") reach the app.
    def delivered():
        """the message to be delivered with both reports in"""
        row = Message.objects.get(pk=message.pk)
        return row.state == MessageState.DELIVERED and row.reports.count() >= 2 and row

    row = wait_for(delivered)
    assert {r.status for r in row.reports.all()} >= {DlrType.DELIVERED, DlrType.SMSC_ACCEPTED}
    assert row.gateway_id and row.delivered_at

    # The citizen answers 不满意 from the phone: Kannel's get-url → level 2 on the case's timeline.
    kannel.send_mo(PHONE, "不满意")

    def escalated():
        """the case to reach follow-up level 2"""
        return Case.objects.filter(pk=case.pk, followup_level=2, state=CaseState.IN_PROGRESS).exists()

    wait_for(escalated)
    with serialised():
        check_escalation(case, message, kannel)


def check_escalation(case, message, kannel):
    reply = InboundMessage.objects.get()
    assert (reply.source, reply.phone, reply.text, reply.to) == (
        InboundSource.KANNEL,
        PHONE,
        "不满意",
        kannel.sender,
    )
    assert reply.external_id  # Kannel's message id: a repeated callback is stored once
    event = case.events.filter(action=EventAction.FOLLOWUP).get()
    assert event.data["escalated_to"] == 2
    assert event.data["notified"] == ["泺口派出所主要领导", "天桥分局"]
    assert event.actor.username == "sms_followup"
    assert "短信回复“不满意”" in event.note
    assert Counter(r.text for r in kannel.received()) == Counter({message.body: 1})
