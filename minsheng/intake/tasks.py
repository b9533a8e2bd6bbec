"""Background intake work: payloads stored but not yet processed (a worker died, a deploy restarted)."""

import datetime as dt

from django_tasks import task

from minsheng.core import clock
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.service import PARSERS, process_with_parser

# A payload younger than this is probably still being processed by the request that stored it.
GRACE = dt.timedelta(seconds=30)
MAX_ATTEMPTS = 5


@task()
def process_pending() -> int:
    """Process every payload left pending; returns how many were processed."""
    done = 0
    stale = RawPayload.objects.filter(
        status=PayloadStatus.PENDING,
        received_at__lt=clock.now() - GRACE,
        attempts__lt=MAX_ATTEMPTS,
        transport__in=list(PARSERS),
    ).values_list("pk", flat=True)
    for pk in list(stale[:1000]):
        payload = RawPayload.objects.get(pk=pk)
        process_with_parser(payload)
        done += 1
    return done


# Importing the e-mail channel registers its "imap" parser, which ``process_pending`` above selects
# payloads by: without it, a mail whose processing failed would stay pending for ever in a worker.
@task()
def poll_mailbox() -> dict:
    """Read the chief's mailbox (IMAP) into the intake; does nothing while IMAP_HOST is unset."""
    from minsheng.intake.email import poll

    return poll().as_dict()
