"""Background sending for set-ups without a dedicated ``minsheng sms-sender`` process (``make run``):
the scheduler enqueues ``send_pending`` every few seconds and the ``db_worker`` runs it."""

from django_tasks import task

from minsheng.core.heartbeat import beat


@task()
def send_pending() -> dict:
    """Send what is due now, for a few seconds at most (other tasks share the worker)."""
    from minsheng.sms.sender import Sender

    beat("worker", "sms.send_pending")
    sender = Sender()
    try:
        stats = sender.run_until_idle(max_seconds=8)
    finally:
        sender.close()
    return {"sent": stats.sent, "retried": stats.retried, "failed": stats.failed, "quiet": stats.quiet}
