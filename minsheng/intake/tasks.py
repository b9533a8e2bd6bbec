"""Background intake work: payloads stored but not yet processed (a worker died, a deploy restarted)."""

import datetime as dt
import logging
import threading
import time

from django.db import transaction
from django.db.models import F
from django_tasks import task

from minsheng.core import clock
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.service import PARSERS, process_with_parser

log = logging.getLogger(__name__)

# A payload younger than this is probably still being processed by the request that stored it.
GRACE = dt.timedelta(seconds=30)
MAX_ATTEMPTS = 5


@task()
def process_pending() -> int:
    """Process every payload left pending; returns how many were processed.

    Each try is counted in its own committed write before processing starts, so a payload that kills
    the worker every time is still counted; after ``MAX_ATTEMPTS`` it goes to quarantine with the
    error, where an admin sees it and can repair it. One payload failing does not stop the others."""
    done = 0
    stale = RawPayload.objects.filter(
        status=PayloadStatus.PENDING,
        received_at__lt=clock.now() - GRACE,
        transport__in=list(PARSERS),
    ).values_list("pk", flat=True)
    for pk in list(stale[:1000]):
        with transaction.atomic(durable=True):
            RawPayload.objects.filter(pk=pk, status=PayloadStatus.PENDING).update(attempts=F("attempts") + 1)
        payload = RawPayload.objects.get(pk=pk)
        if payload.status != PayloadStatus.PENDING:
            continue
        try:
            process_with_parser(payload)
        except Exception as exc:
            log.exception("payload %s could not be processed (attempt %s)", pk, payload.attempts)
            if payload.attempts >= MAX_ATTEMPTS:
                _give_up(payload, exc)
        else:
            done += 1
    return done


def _give_up(payload: RawPayload, exc: Exception) -> None:
    """Quarantine a payload that failed every try: kept, shown for repair, no longer retried."""
    message = f"处理失败（已尝试{payload.attempts}次）：{type(exc).__name__}: {exc}"[:500]
    RawPayload.objects.filter(pk=payload.pk, status=PayloadStatus.PENDING).update(
        status=PayloadStatus.QUARANTINED, error=message, error_field="", processed_at=clock.now()
    )


# --- pushes answered on receipt (``Partner.answer_on_receipt``) -------------------------------------
# The answer commits the payload and, in the same transaction, a ``process_received`` task unless one
# is queued and not started yet (looked at most once a second per web process); the task registers
# every such payload still pending, oldest first. Not one task per push: a task row costs the request
# about as much as the payload's own row, and a burst would leave thousands of tasks that each find
# the queue empty. A payload whose push queued nothing is found by a task queued before it (not
# started yet, or draining: a task ends only after the queue stayed empty for ``QUIET_S``, longer than
# the gap). ``process_pending`` (every minute) is the backstop.
QUEUE_EVERY_S = 1.0
QUIET_S = 2.0
# A task ends after this long and queues its successor behind whatever else waits (sweeps, SMS).
DRAIN_LIMIT_S = 120.0

_queued_at = -QUEUE_EVERY_S
_queued_lock = threading.Lock()


def queue_due() -> bool:
    """Whether this push is the one (at most one a second in this process) to queue the task; it is
    then expected to call ``queue_received`` in the transaction that stores its payload."""
    global _queued_at
    now = time.monotonic()
    with _queued_lock:
        if now - _queued_at < QUEUE_EVERY_S:
            return False
        _queued_at = now
        return True


def queue_received(payload: RawPayload) -> None:
    """Call inside the transaction that stores a payload answered on receipt, when ``queue_due``."""
    if not _drain_waiting():
        process_received.enqueue()


def _drain_waiting() -> bool:
    """Whether a ``process_received`` task is queued and not started (database task backend)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(process_received.get_backend(), DatabaseBackend):
        return False
    return DBTaskResult.objects.ready().filter(task_path=process_received.module_path).exists()


def received_sources() -> list[str]:
    from minsheng.intake.models import Partner

    return list(Partner.objects.filter(answer_on_receipt=True).values_list("code", flat=True))


@task()
def process_received() -> int:
    """Register the payloads of partners answered on receipt: the appeal, its case, duplicate detection
    and triage, as the synchronous answer would have. A batch at a time (``bulk.process_next``: one
    transaction, rows claimed with SKIP LOCKED, so several workers share the queue); a batch that fails
    is gone through one payload at a time, each in its own transaction, so that one bad payload holds
    up nobody else. ``process`` checks the status again under its lock, so a payload settled meanwhile
    (a duplicate or a bad field answered at receipt, the sweep) is left as it is. Returns how many were
    processed."""
    from minsheng.intake import bulk

    done = 0
    failed: set[int] = set()
    sources = received_sources()
    started = last_found = time.monotonic()
    while sources and time.monotonic() - started < DRAIN_LIMIT_S:
        try:
            claimed, settled = bulk.process_next(sources, exclude=failed)
        except bulk.BatchFailed as error:
            log.exception("batch of %s payloads failed; processing them one by one", len(error.payload_ids))
            done += _one_by_one(error.payload_ids, failed)
            last_found = time.monotonic()
            continue
        if not claimed:  # nothing pending, or all of it held by other workers
            if time.monotonic() - last_found >= QUIET_S:
                break
            time.sleep(0.1)
            continue
        last_found = time.monotonic()
        done += settled
    if sources and time.monotonic() - started >= DRAIN_LIMIT_S:
        process_received.enqueue()  # more may be waiting: a successor, behind the other tasks
    return done


def _one_by_one(batch: list[int], failed: set[int]) -> int:
    done = 0
    for pk in batch:
        with transaction.atomic():
            payload = (
                RawPayload.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=PayloadStatus.PENDING)
                .first()
            )
            if payload is None:  # settled meanwhile, or another worker has it
                continue
            try:
                with transaction.atomic():
                    process_with_parser(payload)
            except Exception:
                # Left pending for the sweep (which counts attempts); the others go on.
                log.exception("payload %s could not be processed", pk)
                failed.add(pk)
            else:
                done += 1
    return done


# Importing the e-mail channel registers its "imap" parser, which ``process_pending`` above selects
# payloads by: without it, a mail whose processing failed would stay pending for ever in a worker.
@task()
def poll_mailbox() -> dict:
    """Read the chief's mailbox (IMAP) into the intake; does nothing while IMAP_HOST is unset."""
    from minsheng.intake.email import poll

    return poll().as_dict()
