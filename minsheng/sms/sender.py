"""The sender: takes queued messages from the outbox and hands them to the gateway, exactly once.

How a message moves, and why it cannot be lost or sent twice:

1. **Claim** (``queued → claimed``): one conditional UPDATE takes a batch for this cycle, with a claim
   token and a lease. Several senders may run; a row is claimed by one of them (the UPDATE re-checks
   ``state = queued``; on PostgreSQL candidates are picked with ``SKIP LOCKED``). A sender that dies
   holding claims has made no request for them: when the lease runs out they go back to ``queued``.
2. **Begin** (``claimed → sending``, committed *before* the request): from here the gateway may have
   the message. The row carries a unique ``dlr_id`` that rides along in the delivery-report URL.
3. **Request.** Accepted → ``sent`` (a compare-and-set on state and claim token). Refused for good →
   ``failed``. Failed for now → back to ``queued`` with exponential back-off. Gateway unreachable →
   back to ``queued`` without using an attempt, and the sender backs off as a whole. No answer
   (timeout, reset after writing) → stays ``sending``: in doubt.
4. **Recover** (every few seconds, any sender): a ``sending`` row whose lease ran out is in doubt: its
   sender died between steps 2 and 3, or the gateway never answered. It is resolved, not re-sent:
   a delivery report that arrived has already moved it on (reports are matched by ``dlr_id``); else
   the gateway is asked (Kannel's ``store-status`` lists what bearerbox holds); present → ``sent``;
   absent → ``queued`` again; gateway unreachable → ask again later.

The guarantee, stated honestly: a message is handed to the gateway at least once unless it fails
permanently, and never twice as long as every message Kannel accepted either is still in its store or
has produced a delivery report (dlr-mask includes 8/16, issued by bearerbox itself) that reached us
within the grace period after the lease expired. The residual risk is a report lost on its way to us
while its message's sender was killed in the millisecond between Kannel's answer and our UPDATE.
At most one message per sender thread is ever in doubt at a time.
"""

import datetime as dt
import logging
import math
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q

from minsheng.core import clock
from minsheng.sms import outbox, policy
from minsheng.sms.backends import (
    Backend,
    GatewayUnavailable,
    InDoubt,
    PermanentError,
    TransientError,
    get_backend,
)
from minsheng.sms.backends.base import SendResult, Verdict
from minsheng.sms.choices import MessageState
from minsheng.sms.models import Message, OptOut

log = logging.getLogger("minsheng.sms.sender")


def conf(name: str):
    return settings.SMS[name]


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off after ``attempts`` failed tries: base·2^(n-1), capped, ±20 % jitter so a
    batch that failed together does not retry together."""
    base, cap = conf("RETRY_BASE_S"), conf("RETRY_MAX_S")
    seconds = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@dataclass
class CycleStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    in_doubt: int = 0
    cancelled: int = 0
    deferred: int = 0
    gateway_down: bool = False
    quiet: bool = False

    @property
    def busy(self) -> bool:
        """Whether another cycle right away is likely to find work."""
        return self.claimed > 0 and not self.gateway_down


# --- recovery -------------------------------------------------------------------------------------------
@dataclass
class RecoveryStats:
    released: int = 0
    resolved_sent: int = 0
    requeued: int = 0
    unknown: int = 0
    expired: int = 0


def recover(backend: Backend | None = None, *, now: dt.datetime | None = None) -> RecoveryStats:
    """Release expired claims, resolve messages in doubt, expire what waited too long."""
    now = now or clock.now()
    stats = RecoveryStats()
    # Claimed but never begun: no request was made, so the row simply goes back to the queue.
    stats.released = Message.objects.filter(state=MessageState.CLAIMED, lease_until__lt=now).update(
        state=MessageState.QUEUED, claim_token="", lease_until=None
    )
    grace = dt.timedelta(seconds=conf("INDOUBT_GRACE_S"))
    doubtful = list(
        Message.objects.filter(state=MessageState.SENDING, lease_until__lt=now - grace).order_by("pk")[:500]
    )
    backends: dict[str, Backend] = {}
    for message in doubtful:
        name = message.backend or settings.SMS_BACKEND
        if name not in backends:
            backends[name] = backend if backend is not None and backend.name == name else get_backend(name)
    verdicts: dict[int, Verdict] = {}
    for name, each in backends.items():
        verdicts.update(each.resolve([m for m in doubtful if (m.backend or settings.SMS_BACKEND) == name]))
    for message in doubtful:
        verdict = verdicts.get(message.pk, Verdict.UNKNOWN)
        # The compare-and-set on (state, lease) keeps two recovering senders from both acting, and
        # loses to a delivery report that arrives meanwhile (it moves the row out of ``sending``).
        row = Message.objects.filter(
            pk=message.pk, state=MessageState.SENDING, lease_until=message.lease_until
        )
        if verdict is Verdict.ACCEPTED:
            stats.resolved_sent += row.update(
                state=MessageState.SENT,
                sent_at=message.sending_at or now,
                gateway_response="核实：网关已接收（发送进程中断后）",
                claim_token="",
                lease_until=None,
            )
        elif verdict is Verdict.ABSENT:
            stats.requeued += row.update(
                state=MessageState.QUEUED,
                next_attempt_at=now,
                last_error="核实：网关未收到，重新发送",
                claim_token="",
                lease_until=None,
            )
        else:
            stats.unknown += 1
    max_age = dt.timedelta(hours=conf("MAX_AGE_H"))
    stats.expired = Message.objects.filter(state=MessageState.QUEUED, created_at__lt=now - max_age).update(
        state=MessageState.FAILED, last_error="超过有效期仍未发出", finished_at=now
    )
    for each in backends.values():
        if each is not backend:
            each.close()
    return stats


# --- the sender ----------------------------------------------------------------------------------------
# The two statements every message goes through (begin, then sent), as plain SQL: they are the hot path
# of the sender, and building them with the ORM costs more CPU than the rest of a send. Both are
# compare-and-set on (id, state, claim token). Table and column names are constants.
_TABLE = Message._meta.db_table
_BEGIN = (
    f"UPDATE {_TABLE} SET state = %(sending)s, sending_at = %(now)s, lease_until = %(lease)s, "  # noqa: S608
    "attempts = attempts + 1, backend = %(backend)s "
    "WHERE id = %(pk)s AND state = %(claimed)s AND claim_token = %(token)s"
)
_SENT = (
    f"UPDATE {_TABLE} SET state = %(state)s, sent_at = %(now)s, gateway_response = %(response)s, "  # noqa: S608
    "claim_token = '', lease_until = NULL, deferred_reason = '', "
    "delivered_at = COALESCE(%(done)s, delivered_at), finished_at = COALESCE(%(done)s, finished_at) "
    "WHERE id = %(pk)s AND state = %(sending)s AND claim_token = %(token)s"
)


class Sender:
    """One sending loop. Not thread-safe: run one per thread (each with its own backend instance)."""

    def __init__(self, backend: Backend | None = None, *, batch: int | None = None, worker: str = ""):
        self.backend = backend or get_backend()
        self.batch = batch or conf("BATCH")
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.gateway_backoff_s = 0.0
        self._last_recover = -math.inf

    # The steps, each a compare-and-set so a stale view of a row can never overwrite a newer state.
    def _claim(self, limit: int, now: dt.datetime) -> list[Message]:
        token = secrets.token_hex(8)
        lease = now + dt.timedelta(seconds=conf("LEASE_S"))
        with transaction.atomic():
            candidates = Message.objects.filter(state=MessageState.QUEUED, next_attempt_at__lte=now).order_by(
                "priority", "next_attempt_at", "pk"
            )
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            ids = list(candidates.values_list("pk", flat=True)[:limit])
            if not ids:
                return []
            Message.objects.filter(pk__in=ids, state=MessageState.QUEUED).update(
                state=MessageState.CLAIMED, claim_token=token, lease_until=lease
            )
        return list(
            Message.objects.filter(pk__in=ids, state=MessageState.CLAIMED, claim_token=token).order_by(
                "priority", "next_attempt_at", "pk"
            )
        )

    def _release(self, messages: list[Message], *, until: dt.datetime, reason: str, error: str = "") -> int:
        if not messages:
            return 0
        return Message.objects.filter(
            pk__in=[m.pk for m in messages], state=MessageState.CLAIMED, claim_token=messages[0].claim_token
        ).update(
            state=MessageState.QUEUED,
            claim_token="",
            lease_until=None,
            next_attempt_at=until,
            deferred_reason=reason,
            last_error=error[:255] if error else F("last_error"),
        )

    def _begin(self, message: Message, now: dt.datetime) -> bool:
        lease = now + dt.timedelta(seconds=conf("LEASE_S"))
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(
                _BEGIN,
                {
                    "pk": message.pk,
                    "token": message.claim_token,
                    "claimed": MessageState.CLAIMED.value,
                    "sending": MessageState.SENDING.value,
                    "now": adapt(now),
                    "lease": adapt(lease),
                    "backend": self.backend.name,
                },
            )
            began = cursor.rowcount == 1
        if began:
            message.state, message.sending_at, message.lease_until = MessageState.SENDING, now, lease
            message.attempts += 1
            message.backend = self.backend.name
        return bool(began)

    def _sending(self, message: Message):
        return Message.objects.filter(
            pk=message.pk, state=MessageState.SENDING, claim_token=message.claim_token
        )

    def _sent(self, message: Message, result: SendResult, now: dt.datetime) -> None:
        moment = connection.ops.adapt_datetimefield_value(now)
        # 0 rows: a delivery report got here first and already moved the message on. Nothing to do.
        with connection.cursor() as cursor:
            cursor.execute(
                _SENT,
                {
                    "pk": message.pk,
                    "token": message.claim_token,
                    "sending": MessageState.SENDING.value,
                    "state": (MessageState.DELIVERED if result.delivered else MessageState.SENT).value,
                    "now": moment,
                    "done": moment if result.delivered else None,
                    "response": result.response[:255],
                },
            )

    def _retry(self, message: Message, error: Exception, now: dt.datetime) -> str:
        if message.attempts >= conf("MAX_ATTEMPTS"):
            self._sending(message).update(
                state=MessageState.FAILED,
                last_error=str(error)[:255],
                finished_at=now,
                claim_token="",
                lease_until=None,
            )
            return "failed"
        self._sending(message).update(
            state=MessageState.QUEUED,
            next_attempt_at=now + retry_delay(message.attempts),
            deferred_reason="retry",
            last_error=str(error)[:255],
            claim_token="",
            lease_until=None,
        )
        return "retried"

    def _fail(self, message: Message, error: Exception, now: dt.datetime) -> None:
        self._sending(message).update(
            state=MessageState.FAILED,
            last_error=str(error)[:255],
            finished_at=now,
            claim_token="",
            lease_until=None,
        )

    def _in_doubt(self, message: Message, error: Exception, now: dt.datetime) -> None:
        # The lease ends now, so the next recovery (after the grace period for a late delivery report)
        # resolves it against the gateway.
        self._sending(message).update(lease_until=now, last_error=str(error)[:255])

    def _put_back(self, message: Message, error: Exception, until: dt.datetime) -> None:
        # The request could not have reached the gateway: not the message's fault, no attempt used.
        self._sending(message).update(
            state=MessageState.QUEUED,
            attempts=F("attempts") - 1,
            next_attempt_at=until,
            deferred_reason="gateway_down",
            last_error=str(error)[:255],
            claim_token="",
            lease_until=None,
        )

    # Screening a claimed batch: what must not go now.
    def _screen(
        self, messages: list[Message], now: dt.datetime, pol: dict, stats: CycleStats
    ) -> list[Message]:
        if not messages:
            return messages
        phones = {m.phone for m in messages}
        opted_out = set(OptOut.objects.filter(phone__in=phones).values_list("phone", flat=True))
        unwanted = {m.pk for m in messages if m.phone in opted_out}
        for purpose, guard in outbox.guards().items():
            mine = [m for m in messages if m.purpose == purpose and m.pk not in unwanted]
            if mine:
                unwanted |= guard(mine)
        if unwanted:
            stats.cancelled += outbox.cancel(unwanted, "已无需发送（已退订或已另行回访）")
        messages = [m for m in messages if m.pk not in unwanted]
        # Per-number limits: counted over what went out in the last hour/day, plus this batch.
        hour, day = now - dt.timedelta(hours=1), now - dt.timedelta(days=1)
        counts = {
            row["phone"]: (row["hour"], row["day"])
            for row in Message.objects.filter(phone__in=phones, sent_at__gte=day)
            .values("phone")
            .annotate(hour=Count("pk", filter=Q(sent_at__gte=hour)), day=Count("pk"))
        }
        per_hour, per_day = int(pol["sms_per_number_per_hour"]), int(pol["sms_per_number_per_day"])
        allowed, over_hour, over_day = [], [], []
        for message in messages:
            in_hour, in_day = counts.get(message.phone, (0, 0))
            if in_day >= per_day:
                over_day.append(message)
            elif in_hour >= per_hour:
                over_hour.append(message)
            else:
                counts[message.phone] = (in_hour + 1, in_day + 1)
                allowed.append(message)
        stats.deferred += self._release(over_hour, until=now + dt.timedelta(minutes=15), reason="rate_limit")
        stats.deferred += self._release(over_day, until=now + dt.timedelta(hours=2), reason="rate_limit")
        return allowed

    def _budget(self, now: dt.datetime, pol: dict) -> int:
        """How many may go in this cycle under the global rate (messages per second, all senders)."""
        rate = int(pol["sms_rate_per_s"])
        recent = Message.objects.filter(sent_at__gt=now - dt.timedelta(seconds=1)).count()
        return max(0, min(self.batch, rate - recent))

    def run_once(self, now: dt.datetime | None = None) -> CycleStats:
        """One cycle: recover if due, then claim, screen and send one batch."""
        given = now
        now = now or clock.now()
        stats = CycleStats()
        if time.monotonic() - self._last_recover >= conf("RECOVER_EVERY_S"):
            recover(self.backend, now=now)
            self._last_recover = time.monotonic()
        pol = policy.current()
        if policy.in_quiet_hours(now, pol["sms_quiet_hours"]):
            stats.quiet = True
            return stats
        budget = self._budget(now, pol)
        if budget <= 0:
            return stats
        messages = self._claim(budget, now)
        stats.claimed = len(messages)
        messages = self._screen(messages, now, pol, stats)
        for index, message in enumerate(messages):
            moment = given or clock.now()
            if not self._begin(message, moment):
                continue
            try:
                result = self.backend.send(message)
            except GatewayUnavailable as error:
                self.gateway_backoff_s = min(
                    conf("GATEWAY_BACKOFF_MAX_S"), max(conf("GATEWAY_BACKOFF_S"), self.gateway_backoff_s * 2)
                )
                until = moment + dt.timedelta(seconds=self.gateway_backoff_s)
                self._put_back(message, error, until)
                self._release(messages[index + 1 :], until=until, reason="gateway_down", error=str(error))
                stats.gateway_down = True
                log.warning("SMS gateway unavailable, backing off %.0fs: %s", self.gateway_backoff_s, error)
                break
            except InDoubt as error:
                self._in_doubt(message, error, moment)
                stats.in_doubt += 1
                log.warning("SMS %s in doubt: %s", message.pk, error)
            except TransientError as error:
                outcome = self._retry(message, error, moment)
                stats.failed += outcome == "failed"
                stats.retried += outcome == "retried"
            except PermanentError as error:
                self._fail(message, error, moment)
                stats.failed += 1
            else:
                self._sent(message, result, moment)
                self.gateway_backoff_s = 0.0
                stats.sent += 1
        return stats

    def run_until_idle(self, *, max_seconds: float = 60.0, now: dt.datetime | None = None) -> CycleStats:
        """Cycles until nothing more can go now (or the time is up); returns the totals."""
        total = CycleStats()
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            stats = self.run_once(now)
            for name in ("claimed", "sent", "retried", "failed", "in_doubt", "cancelled", "deferred"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            total.gateway_down |= stats.gateway_down
            total.quiet |= stats.quiet
            if not stats.busy:
                break
        return total

    def close(self) -> None:
        self.backend.close()
