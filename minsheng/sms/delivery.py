"""Delivery reports: what the gateway tells us happened to a message after it accepted it.

Reports arrive in any order (Kannel's "delivered to phone" may overtake "accepted by SMSC"), so a
report only ever moves a message forward: a late "accepted" never undoes "delivered".
"""

from django.db import connection, transaction

from minsheng.core import clock
from minsheng.sms.choices import DlrType, MessageState
from minsheng.sms.models import DeliveryReport, Message

_BEFORE_SENT = (MessageState.QUEUED, MessageState.CLAIMED, MessageState.SENDING, MessageState.CANCELLED)
# report type → (target state, the states it may move a message from)
_MOVES = {
    DlrType.DELIVERED: (MessageState.DELIVERED, (*_BEFORE_SENT, MessageState.SENT, MessageState.FAILED)),
    DlrType.UNDELIVERED: (MessageState.FAILED, (*_BEFORE_SENT, MessageState.SENT)),
    DlrType.SMSC_REJECTED: (MessageState.FAILED, (*_BEFORE_SENT, MessageState.SENT)),
    DlrType.SMSC_ACCEPTED: (MessageState.SENT, _BEFORE_SENT),
    DlrType.BUFFERED: (MessageState.SENT, _BEFORE_SENT),
}


def _statement(target: str, sources: tuple[str, ...]) -> str:
    """The one UPDATE for a report type. Every SET reads the row as it was before the UPDATE (standard
    SQL, as SQLite and PostgreSQL do), so each ``CASE`` asks the same question: may it move?"""
    moves = f"state IN ({', '.join(repr(str(state)) for state in sources)})"
    sets = [
        f"state = CASE WHEN {moves} THEN %(target)s ELSE state END",
        f"claim_token = CASE WHEN {moves} THEN '' ELSE claim_token END",
        f"lease_until = CASE WHEN {moves} THEN NULL ELSE lease_until END",
        "sent_at = COALESCE(sent_at, sending_at, %(now)s)",
        "dlr_status = %(dlr)s",
        "gateway_id = CASE WHEN %(gateway_id)s = '' THEN gateway_id ELSE %(gateway_id)s END",
        "smsc_id = CASE WHEN %(smsc_id)s = '' THEN smsc_id ELSE %(smsc_id)s END",
    ]
    if target == MessageState.DELIVERED:
        sets.append(f"delivered_at = CASE WHEN {moves} THEN %(now)s ELSE delivered_at END")
    if target in (MessageState.DELIVERED, MessageState.FAILED):
        sets.append(f"finished_at = CASE WHEN {moves} THEN %(now)s ELSE finished_at END")
    if target == MessageState.FAILED:
        sets.append(f"last_error = CASE WHEN {moves} THEN %(error)s ELSE last_error END")
    table = Message._meta.db_table
    return f"UPDATE {table} SET {', '.join(sets)} WHERE dlr_id = %(dlr_id)s RETURNING id"  # noqa: S608 - constants only


# Built once from constants (state names, never input). Raw SQL because this runs for every report
# Kannel sends, two per message: the ORM's Case/When costs more CPU than the whole rest of the request.
_STATEMENTS = {dlr: _statement(target, sources) for dlr, (target, sources) in _MOVES.items()}


@transaction.atomic
def apply_report(
    dlr_id: str,
    status: int,
    *,
    attempt: int = 0,
    answer: str = "",
    gateway_id: str = "",
    smsc_id: str = "",
) -> DeliveryReport | None:
    """Move the message with ``dlr_id`` on and store the report: one UPDATE (returning the message's id)
    and one INSERT. None when no message has that id.

    The state moves only from the states the report may move it from; the report's type and ids are
    kept either way. A report for a message still ``sending`` is the proof that an in-doubt send was
    accepted; for one back in ``queued``/``claimed`` (re-queued by recovery a moment before the report
    came) it stops the second send: the claim token is cleared, so a sender holding the claim cannot
    begin it.
    """
    dlr = DlrType(status)
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _STATEMENTS[dlr],
            {
                "dlr_id": dlr_id,
                "target": str(_MOVES[dlr][0]),
                # As the ORM would write it (SQLite stores naive UTC text and compares it as text).
                "now": connection.ops.adapt_datetimefield_value(now),
                "dlr": int(dlr),
                "gateway_id": gateway_id[:64],
                "smsc_id": smsc_id[:64],
                "error": f"回执：{dlr.label} {answer}".strip()[:255],
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return DeliveryReport.objects.create(
        message_id=row[0],
        received_at=now,
        status=dlr,
        attempt=attempt,
        answer=answer[:255],
        gateway_id=gateway_id[:64],
        smsc_id=smsc_id[:64],
    )
