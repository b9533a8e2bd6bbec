"""Acceptance: the gateway goes down. Messages wait (no attempt used, nothing dropped); when Kannel is
back every one is delivered exactly once, counted at the fake SMS centre."""

import time
from collections import Counter

from minsheng.sms import outbox
from minsheng.sms.choices import MessageState
from minsheng.sms.models import Message
from minsheng.sms.sender import Sender
from tests.kannel.conftest import serialised, wait_for


def queue(n: int, start: int = 0) -> list[str]:
    texts = []
    for i in range(start, start + n):
        text = f"【济南公安】网关故障演练第{i}条，请评价：回复1满意，2基本满意，3不满意。"
        outbox.enqueue(f"139053{i:05d}", text, purpose="drill")
        texts.append(text)
    return texts


def test_messages_wait_for_the_gateway_and_go_exactly_once(kannel):
    sender = Sender(batch=20)
    with serialised():
        before = queue(10)
        assert sender.run_until_idle(max_seconds=10).sent == 10
    kannel.wait_received(10)

    kannel.stop_gateway()
    with serialised():
        during = queue(15, start=10)
        stats = sender.run_once()
        assert stats.gateway_down and stats.sent == 0
        waiting = Message.objects.filter(state=MessageState.QUEUED)
        assert waiting.count() == 15
        assert set(waiting.values_list("attempts", flat=True)) == {0}  # the gateway's fault, not theirs
        assert set(waiting.values_list("deferred_reason", flat=True)) == {"gateway_down"}
    for _ in range(5):  # keeps trying (and backing off) while the gateway is down
        time.sleep(0.3)
        with serialised():
            assert sender.run_once().sent == 0

    kannel.start()

    def all_sent():
        """every queued message to be handed to Kannel"""
        sender.run_once()
        return not Message.objects.exclude(state__in=(MessageState.SENT, MessageState.DELIVERED)).exists()

    wait_for(all_sent, timeout=30, interval=0.3)
    sender.close()
    got = kannel.wait_received(25, timeout=20)
    time.sleep(1)  # anything sent twice would arrive now
    counts = Counter(r.text for r in kannel.received())
    assert counts == Counter(before + during)
    assert set(counts.values()) == {1}
    assert len(got) == 25
