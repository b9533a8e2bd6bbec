"""The outbox and the sender: quiet hours, opt-out, rate limits, retries, claims, leases and doubt."""

import datetime as dt

import pytest

from minsheng.core import clock
from minsheng.core.models import Policy
from minsheng.sms import delivery, inbound, outbox
from minsheng.sms.backends import GatewayUnavailable, InDoubt, PermanentError, TransientError
from minsheng.sms.backends.base import Verdict
from minsheng.sms.choices import DlrType, Encoding, MessageState
from minsheng.sms.models import Message, OptOut
from minsheng.sms.sender import Sender, recover
from minsheng.sms.tests.helpers import TUESDAY_10, Scripted, at

pytestmark = pytest.mark.django_db

PHONE = "13905310001"


def queue(text="【济南公安】测试短信", phone=PHONE, when=TUESDAY_10, **kwargs) -> Message:
    """Queued at ``when`` (a working-day morning unless said otherwise: never in quiet hours)."""
    with clock.frozen_at(when):
        return outbox.enqueue(phone, text, purpose="test", **kwargs)


def fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def policy(key, value):
    Policy.objects.update_or_create(key=key, defaults={"value": value})


# --- the outbox --------------------------------------------------------------------------------------
def test_enqueue_counts_the_parts_of_a_long_chinese_message():
    message = queue("满" * 100)
    assert (message.encoding, message.length, message.segments) == (Encoding.UCS2, 100, 2)
    assert message.state == MessageState.QUEUED
    assert message.dlr_id and len(message.dlr_id) == 24


def test_a_dedupe_key_queues_one_message_however_often_asked():
    first = queue(dedupe_key="case:1:level:1")
    second = queue(dedupe_key="case:1:level:1")
    assert first.pk == second.pk
    assert Message.objects.count() == 1


def test_a_landline_is_never_texted():
    message = queue(phone="0531-87654321")
    assert message.state == MessageState.CANCELLED
    assert message.last_error == "非手机号码"


# --- quiet hours -------------------------------------------------------------------------------------
def test_a_message_queued_at_night_waits_for_the_morning(settings):
    message = queue(when=at(22, 30))
    assert message.deferred_reason == "quiet_hours"
    assert message.next_attempt_at == at(8, 0, day=25)
    backend = Scripted()
    sender = Sender(backend)
    assert sender.run_once(at(22, 30)).quiet
    assert sender.run_once(at(3, 0, day=25)).quiet
    assert backend.sent == []
    assert fresh(message).state == MessageState.QUEUED  # deferred, not dropped
    assert sender.run_once(at(8, 0, day=25)).sent == 1
    assert fresh(message).state == MessageState.SENT


def test_a_message_queued_before_21_that_could_not_go_in_time_waits_too():
    message = queue(when=at(20, 59))
    assert message.deferred_reason == ""
    backend = Scripted()
    assert Sender(backend).run_once(at(21, 5)).quiet
    assert backend.sent == []
    Sender(backend).run_once(at(8, 1, day=25))
    assert fresh(message).state == MessageState.SENT


def test_admins_set_the_quiet_hours():
    policy("sms_quiet_hours", ["22:00", "07:00"])
    message = queue(when=at(21, 30))
    assert Sender(Scripted()).run_once(at(21, 30)).sent == 1
    assert fresh(message).state == MessageState.SENT
    early = queue(when=at(6, 30, day=25))
    assert early.next_attempt_at == at(7, 0, day=25)


# --- opt-out -----------------------------------------------------------------------------------------
def test_td_cancels_what_waits_and_nothing_more_is_sent():
    waiting = queue()
    reply = inbound.receive(phone=PHONE, text="TD", source="simulator")
    assert reply.opt_out is True
    assert OptOut.objects.filter(phone=PHONE).exists()
    assert fresh(waiting).state == MessageState.CANCELLED
    later = queue("另一条")
    assert later.state == MessageState.CANCELLED
    assert later.last_error == "号码已退订"
    backend = Scripted()
    Sender(backend).run_once(TUESDAY_10)
    assert backend.sent == []


def test_an_opt_out_that_arrives_after_the_claim_still_stops_the_send():
    message = queue()
    sender = Sender(Scripted())
    [claimed] = sender._claim(10, TUESDAY_10)
    outbox.opt_out(PHONE)  # the citizen's TD arrives while the row is claimed
    assert fresh(message).state == MessageState.CANCELLED
    assert sender._begin(claimed, TUESDAY_10) is False


def test_the_sender_screens_opted_out_numbers():
    message = queue()
    OptOut.objects.create(phone=PHONE)  # written without the outbox (e.g. an import of opt-outs)
    backend = Scripted()
    stats = Sender(backend).run_once(TUESDAY_10)
    assert stats.cancelled == 1
    assert backend.sent == []
    assert fresh(message).state == MessageState.CANCELLED


# --- rate limits -------------------------------------------------------------------------------------
def test_per_number_limit_defers_the_excess():
    policy("sms_per_number_per_hour", 2)
    mine = [queue(f"第{i}条") for i in range(3)]
    other = queue(phone="13905310002")
    backend = Scripted()
    stats = Sender(backend).run_once(TUESDAY_10)
    assert stats.sent == 3 and stats.deferred == 1
    last = fresh(mine[2])
    assert last.state == MessageState.QUEUED
    assert last.deferred_reason == "rate_limit"
    assert last.next_attempt_at == TUESDAY_10 + dt.timedelta(minutes=15)
    assert fresh(other).state == MessageState.SENT
    Sender(backend).run_once(TUESDAY_10 + dt.timedelta(minutes=15))
    assert fresh(last).state == MessageState.QUEUED  # still 2 in the last hour
    Sender(backend).run_once(TUESDAY_10 + dt.timedelta(minutes=61))
    assert fresh(last).state == MessageState.SENT


def test_global_rate_limit_spreads_a_burst():
    policy("sms_rate_per_s", 3)
    for i in range(5):
        queue(phone=f"139053100{i:02d}")
    backend = Scripted()
    sender = Sender(backend)
    assert sender.run_once(TUESDAY_10).sent == 3
    assert sender.run_once(TUESDAY_10).sent == 0
    assert sender.run_once(TUESDAY_10 + dt.timedelta(seconds=1)).sent == 2


# --- retries -----------------------------------------------------------------------------------------
def test_transient_errors_retry_with_exponential_back_off():
    message = queue()
    backend = Scripted(TransientError("503 queue full"), TransientError("503 queue full"), "ok")
    sender = Sender(backend)
    sender.run_once(TUESDAY_10)
    first = fresh(message)
    assert (first.state, first.attempts, first.deferred_reason) == (MessageState.QUEUED, 1, "retry")
    assert dt.timedelta(seconds=24) <= first.next_attempt_at - TUESDAY_10 <= dt.timedelta(seconds=36)
    later = first.next_attempt_at
    sender.run_once(later)
    second = fresh(message)
    assert second.attempts == 2
    assert dt.timedelta(seconds=48) <= second.next_attempt_at - later <= dt.timedelta(seconds=72)
    sender.run_once(second.next_attempt_at)
    assert fresh(message).state == MessageState.SENT
    assert fresh(message).attempts == 3
    assert len(backend.sent) == 1


def test_attempts_run_out(settings):
    settings.SMS = {**settings.SMS, "MAX_ATTEMPTS": 2}
    message = queue()
    sender = Sender(Scripted(TransientError("500"), TransientError("500")))
    sender.run_once(TUESDAY_10)
    sender.run_once(fresh(message).next_attempt_at)
    ended = fresh(message)
    assert ended.state == MessageState.FAILED
    assert ended.last_error == "500"


def test_a_permanent_error_fails_at_once():
    message = queue()
    Sender(Scripted(PermanentError("400 Number not allowed"))).run_once(TUESDAY_10)
    assert fresh(message).state == MessageState.FAILED


def test_gateway_down_uses_no_attempt_and_holds_the_whole_batch():
    messages = [queue(phone=f"139053100{i:02d}") for i in range(3)]
    backend = Scripted(GatewayUnavailable("connection refused"))
    sender = Sender(backend)
    stats = sender.run_once(TUESDAY_10)
    assert stats.gateway_down
    for message in messages:
        row = fresh(message)
        assert (row.state, row.attempts, row.deferred_reason) == (MessageState.QUEUED, 0, "gateway_down")
        assert row.next_attempt_at == TUESDAY_10 + dt.timedelta(seconds=5)
    assert sender.run_once(TUESDAY_10 + dt.timedelta(seconds=1)).sent == 0  # backing off
    assert sender.run_once(TUESDAY_10 + dt.timedelta(seconds=5)).sent == 3
    assert sender.gateway_backoff_s == 0


# --- claims, leases and doubt ------------------------------------------------------------------------
def test_two_senders_never_claim_the_same_message():
    for i in range(6):
        queue(phone=f"139053100{i:02d}")
    first = Sender(Scripted())._claim(4, TUESDAY_10)
    second = Sender(Scripted())._claim(4, TUESDAY_10)
    assert len(first) == 4 and len(second) == 2
    assert not {m.pk for m in first} & {m.pk for m in second}


def test_a_dead_senders_claims_return_to_the_queue_without_an_attempt():
    message = queue()
    Sender(Scripted())._claim(10, TUESDAY_10)  # then the sender dies
    recover(Scripted(), now=TUESDAY_10 + dt.timedelta(seconds=30))
    assert fresh(message).state == MessageState.CLAIMED  # lease still running
    stats = recover(Scripted(), now=TUESDAY_10 + dt.timedelta(seconds=61))
    assert stats.released == 1
    row = fresh(message)
    assert (row.state, row.attempts, row.claim_token) == (MessageState.QUEUED, 0, "")


def test_a_send_in_doubt_is_resolved_by_asking_the_gateway_not_resent():
    message = queue()
    backend = Scripted(InDoubt("read timeout"), verdict=Verdict.ACCEPTED)
    sender = Sender(backend)
    assert sender.run_once(TUESDAY_10).in_doubt == 1
    assert fresh(message).state == MessageState.SENDING
    recover(backend, now=TUESDAY_10 + dt.timedelta(seconds=10))  # within the grace period
    assert backend.resolved == []
    recover(backend, now=TUESDAY_10 + dt.timedelta(seconds=31))
    row = fresh(message)
    assert row.state == MessageState.SENT
    assert row.sent_at == TUESDAY_10
    Sender(backend).run_once(TUESDAY_10 + dt.timedelta(minutes=5))
    assert backend.sent == []  # never sent a second time


def test_a_send_the_gateway_never_got_is_sent_again():
    message = queue()
    backend = Scripted(InDoubt("reset"), verdict=Verdict.ABSENT)
    Sender(backend).run_once(TUESDAY_10)
    recover(backend, now=TUESDAY_10 + dt.timedelta(seconds=31))
    assert fresh(message).state == MessageState.QUEUED
    Sender(backend).run_once(TUESDAY_10 + dt.timedelta(seconds=32))
    assert fresh(message).state == MessageState.SENT
    assert backend.sent == ["【济南公安】测试短信"]


def test_an_unreachable_gateway_leaves_the_doubt_for_later():
    message = queue()
    backend = Scripted(InDoubt("timeout"), verdict=Verdict.UNKNOWN)
    Sender(backend).run_once(TUESDAY_10)
    assert recover(backend, now=TUESDAY_10 + dt.timedelta(minutes=5)).unknown == 1
    assert fresh(message).state == MessageState.SENDING


def test_a_delivery_report_settles_a_send_in_doubt():
    message = queue()
    backend = Scripted(InDoubt("timeout"), verdict=Verdict.ABSENT)
    Sender(backend).run_once(TUESDAY_10)
    delivery.apply_report(message.dlr_id, DlrType.SMSC_ACCEPTED, gateway_id="k-1")
    recover(backend, now=TUESDAY_10 + dt.timedelta(minutes=5))
    row = fresh(message)
    assert (row.state, row.gateway_id) == (MessageState.SENT, "k-1")
    assert backend.resolved == []


def test_a_report_for_a_requeued_message_stops_the_second_send():
    message = queue()
    sender = Sender(Scripted())
    [claimed] = sender._claim(1, TUESDAY_10)
    delivery.apply_report(message.dlr_id, DlrType.DELIVERED)  # the first send's report, late
    assert sender._begin(claimed, TUESDAY_10) is False


def test_reports_only_move_forward():
    message = queue()
    Sender(Scripted()).run_once(TUESDAY_10)
    delivery.apply_report(message.dlr_id, DlrType.DELIVERED, smsc_id="f-1")
    delivery.apply_report(message.dlr_id, DlrType.SMSC_ACCEPTED)
    row = fresh(message)
    assert (row.state, row.dlr_status, row.smsc_id) == (MessageState.DELIVERED, DlrType.SMSC_ACCEPTED, "f-1")
    assert row.reports.count() == 2


def test_an_undelivered_report_fails_the_message():
    message = queue()
    Sender(Scripted()).run_once(TUESDAY_10)
    delivery.apply_report(message.dlr_id, DlrType.UNDELIVERED, answer="EXPIRED")
    row = fresh(message)
    assert row.state == MessageState.FAILED
    assert "未能送达手机" in row.last_error


def test_a_stale_sender_cannot_overwrite_a_newer_state():
    message = queue()
    sender = Sender(Scripted())
    [claimed] = sender._claim(1, TUESDAY_10)
    assert sender._begin(claimed, TUESDAY_10)
    delivery.apply_report(message.dlr_id, DlrType.DELIVERED)
    from minsheng.sms.backends.base import SendResult

    sender._sent(claimed, SendResult("202"), TUESDAY_10)
    assert fresh(message).state == MessageState.DELIVERED


def test_messages_that_waited_too_long_fail():
    message = queue()
    recover(Scripted(), now=TUESDAY_10 + dt.timedelta(hours=73))
    assert fresh(message).state == MessageState.FAILED


def test_a_guard_cancels_messages_no_longer_wanted():
    unwanted = queue(text="不要了")
    wanted = queue(text="要")
    outbox.register_guard("test", lambda messages: {m.pk for m in messages if m.body == "不要了"})
    try:
        backend = Scripted()
        Sender(backend).run_once(TUESDAY_10)
    finally:
        outbox.guards().pop("test")
    assert fresh(unwanted).state == MessageState.CANCELLED
    assert fresh(wanted).state == MessageState.SENT
    assert backend.sent == ["要"]


def test_the_simulator_delivers_at_once():
    from minsheng.sms.backends.simulator import SimulatorBackend

    message = queue()
    Sender(SimulatorBackend()).run_once(TUESDAY_10)
    row = fresh(message)
    assert (row.state, row.backend) == (MessageState.DELIVERED, "simulator")
    assert row.delivered_at == TUESDAY_10


def test_the_scheduled_task_sends_what_is_due():
    from minsheng.sms import tasks

    message = queue()
    with clock.frozen_at(TUESDAY_10):
        result = tasks.send_pending.call()
    assert result["sent"] == 1
    assert fresh(message).state == MessageState.DELIVERED  # the demo's simulator backend
