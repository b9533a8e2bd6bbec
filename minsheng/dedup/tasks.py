"""Background work on the duplicate index, run by the ``db_worker`` and enqueued by the scheduler."""

from django_tasks import task

from minsheng.dedup import service


@task()
def snapshot() -> int:
    """Save this worker's index, brought up to date with the journal, as the snapshot that processes
    load at start: a restart then replays only the journal since. Returns how many appeals it holds."""
    idx = service.index()
    with idx.guard:
        idx.ensure()
        idx.save()
        return len(idx.detector)


@task()
def thin_journal() -> int:
    """Drop the places and band keys that journal rows older than a day carry (``service.thin_journal``).
    Returns how many rows were thinned."""
    return service.thin_journal()
