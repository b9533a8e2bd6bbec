"""Housekeeping of the background machinery itself, enqueued by the scheduler."""

import io

from django.core.management import call_command
from django_tasks import task

# Finished task rows are kept this long (what ran, when, and why it failed), then pruned: the
# scheduler alone adds a dozen rows a minute.
KEEP_DAYS = 14
KEEP_FAILED_DAYS = 60


@task()
def prune_task_results() -> str:
    out = io.StringIO()
    call_command(
        "prune_db_task_results",
        queue_name="*",
        min_age_days=KEEP_DAYS,
        failed_min_age_days=KEEP_FAILED_DAYS,
        stdout=out,
    )
    return out.getvalue().strip()
