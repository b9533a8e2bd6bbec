"""Writing to the outbox: called inside the transaction of the business action that causes the SMS.

Nothing here talks to a gateway. A row written here is sent after the action commits, by the sender
(``sms.sender``); if the action rolls back, the row was never there. That is the whole point: the
citizen is never told about something the database does not know happened, and nothing the database
knows happened goes untold.
"""

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import IntegrityError, transaction

from minsheng.core import clock
from minsheng.sms import policy
from minsheng.sms.choices import PENDING_STATES, MessageState
from minsheng.sms.models import Message, OptOut
from minsheng.sms.segments import segment

MOBILE = re.compile(r"^1[3-9]\d{9}$")

# purpose → function(messages) returning the ids of those no longer wanted (checked before sending).
# The follow-up registers one: a survey SMS for a case already followed up by phone is not sent.
_guards: dict[str, Callable[[list[Message]], set[int]]] = {}


def register_guard(purpose: str, guard: Callable[[list[Message]], set[int]]) -> None:
    _guards[purpose] = guard


def guards() -> dict[str, Callable[[list[Message]], set[int]]]:
    return _guards


def is_mobile(phone: str) -> bool:
    return bool(MOBILE.match(phone or ""))


def is_opted_out(phone: str) -> bool:
    return OptOut.objects.filter(phone=phone).exists()


def enqueue(
    phone: str,
    body: str,
    *,
    purpose: str,
    template: str = "",
    ref: str = "",
    priority: int = 5,
    dedupe_key: str | None = None,
) -> Message:
    """Queue one SMS. Call it inside the action's transaction.

    Returns the row; it is ``cancelled`` at once when the number opted out or is not a mobile (the
    caller sees why in ``last_error`` and can take another way, e.g. a phone call). A message queued
    during quiet hours gets its earliest send time at the end of them: deferred, never dropped. With
    ``dedupe_key`` a second call for the same thing returns the first row instead of a second SMS.
    """
    if dedupe_key:
        existing = Message.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    now = clock.now()
    seg = segment(body)
    message = Message(
        phone=phone,
        body=body,
        sender=settings.KANNEL_FROM,
        purpose=purpose,
        template=template,
        ref=ref,
        priority=priority,
        encoding=seg.encoding,
        length=seg.length,
        segments=seg.segments,
        created_at=now,
        next_attempt_at=now,
        backend=settings.SMS_BACKEND,
        dedupe_key=dedupe_key,
    )
    if not is_mobile(phone):
        message.state, message.last_error, message.finished_at = MessageState.CANCELLED, "非手机号码", now
    elif is_opted_out(phone):
        message.state, message.last_error, message.finished_at = MessageState.CANCELLED, "号码已退订", now
    else:
        quiet = policy.get("sms_quiet_hours")
        if policy.in_quiet_hours(now, quiet):
            message.next_attempt_at = policy.quiet_hours_end(now, quiet)
            message.deferred_reason = "quiet_hours"
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Two transactions queued the same thing at once; the one that committed first wins.
        if dedupe_key:
            return Message.objects.get(dedupe_key=dedupe_key)
        raise
    return message


def cancel(messages: Iterable[int], reason: str) -> int:
    """Cancel messages not yet handed to the gateway (compare-and-set: a row a sender already started
    sending is left alone). Returns how many were cancelled."""
    return Message.objects.filter(pk__in=list(messages), state__in=PENDING_STATES).update(
        state=MessageState.CANCELLED,
        last_error=reason[:255],
        finished_at=clock.now(),
        claim_token="",
        lease_until=None,
    )


def opt_out(phone: str, *, source: str = "sms", inbound=None, note: str = "") -> OptOut:
    """Record that ``phone`` wants no more SMS and cancel what is still waiting for it."""
    row, _ = OptOut.objects.get_or_create(
        phone=phone, defaults={"source": source, "inbound": inbound, "note": note[:255]}
    )
    pending = Message.objects.filter(phone=phone, state__in=PENDING_STATES).values_list("pk", flat=True)
    cancel(pending, "号码已退订")
    return row
