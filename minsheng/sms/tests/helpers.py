"""Test doubles for the SMS tests: a transport that does what the test scripts, and fixed moments."""

import datetime as dt

from django.utils import timezone

from minsheng.sms.backends.base import Backend, SendResult, Verdict

# A Tuesday in an ordinary working week, Asia/Shanghai.
TUESDAY_10 = timezone.make_aware(dt.datetime(2026, 11, 24, 10, 0))


def at(hour: int, minute: int = 0, day: int = 24) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 11, day, hour, minute))


class Scripted(Backend):
    """Sends by the script: each call takes the next outcome (an exception to raise, or "ok")."""

    name = "scripted"

    def __init__(self, *outcomes, verdict: Verdict = Verdict.ABSENT):
        self.outcomes = list(outcomes)
        self.verdict = verdict
        self.sent: list[str] = []
        self.resolved: list[int] = []

    def send(self, message) -> SendResult:
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append(message.body)
        return SendResult(response="202 0: Accepted for delivery")

    def resolve(self, messages):
        self.resolved.extend(m.pk for m in messages)
        return {m.pk: self.verdict for m in messages}
