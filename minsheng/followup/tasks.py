"""Periodic follow-up work, enqueued by the scheduler and run by the ``db_worker``."""

from django_tasks import task

from minsheng.core.heartbeat import beat


@task()
def sweep() -> dict:
    """Reply windows that ran out, SMS that could not go, follow-ups superseded on the case page."""
    from minsheng.followup.flow import sweep as run

    beat("worker", "followup.sweep")
    return run()


@task()
def survey_service_records() -> int:
    """Queue the satisfaction SMS of recent 110 dispatches and window transactions."""
    from minsheng.followup.flow import survey_service_records as run

    beat("worker", "followup.survey_service_records")
    return run()
