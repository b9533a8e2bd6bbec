"""Incoming SMS (MO): one entry point for the Kannel callback and the phone simulator alike.

The message is stored first (once: Kannel's message id makes a repeated callback harmless), an opt-out
is honoured, and then the registered handlers are asked in turn; the follow-up flow is one of them
(``followup.apps``). Everything happens in one transaction: a reply is recorded together with what
it caused, or not at all.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from minsheng.core import clock
from minsheng.intake.normalise import FieldError, normalise_phone
from minsheng.sms import outbox
from minsheng.sms.choices import InboundSource, InboundStatus, MessageState
from minsheng.sms.models import InboundMessage, Message
from minsheng.sms.optout import is_opt_out


@dataclass(frozen=True)
class Outcome:
    """What a handler made of a reply."""

    status: str  # an InboundStatus
    handled_by: str
    note: str = ""


Handler = Callable[[InboundMessage], Outcome | None]
_handlers: list[Handler] = []


def register_handler(handler: Handler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def clean_phone(raw: str) -> str:
    """The citizen's number as the outbox writes it (11 digits), whatever prefix the gateway adds."""
    try:
        return normalise_phone(raw, "from") or raw.strip()
    except FieldError:
        return "".join(ch for ch in raw if ch.isdigit() or ch == "+")[:20]


@transaction.atomic
def receive(
    *,
    phone: str,
    text: str,
    source: str,
    to: str = "",
    external_id: str = "",
    received_at=None,
) -> InboundMessage:
    """Store one incoming SMS and act on it. Idempotent on (source, external_id)."""
    phone = clean_phone(phone)
    if external_id:
        existing = InboundMessage.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return existing
    answered = (
        Message.objects.filter(
            phone=phone, state__in=(MessageState.SENT, MessageState.DELIVERED, MessageState.SENDING)
        )
        .order_by("-sent_at", "-pk")
        .first()
    )
    inbound = InboundMessage(
        phone=phone,
        to=to[:21],
        text=text,
        received_at=received_at or clock.now(),
        source=InboundSource(source),
        external_id=external_id[:64],
        in_reply_to=answered,
        opt_out=is_opt_out(text),
    )
    try:
        with transaction.atomic():
            inbound.save()
    except IntegrityError:
        # The same gateway message arrived twice at once; the first one stored is the one acted on.
        return InboundMessage.objects.get(source=source, external_id=external_id)
    if inbound.opt_out:
        outbox.opt_out(phone, inbound=inbound, note=f"短信回复“{text[:40]}”")
    outcome = None
    for handler in _handlers:
        outcome = handler(inbound)
        if outcome is not None:
            break
    if outcome is None:
        outcome = Outcome(InboundStatus.OPT_OUT if inbound.opt_out else InboundStatus.UNMATCHED, "")
    inbound.status, inbound.handled_by, inbound.note = outcome.status, outcome.handled_by, outcome.note[:255]
    inbound.save(update_fields=["status", "handled_by", "note"])
    return inbound
