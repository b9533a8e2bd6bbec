"""The worker's own table does not grow for ever: finished task rows are pruned after two weeks."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from minsheng.cases.tasks import sweep_deadlines
from minsheng.core.tasks import KEEP_DAYS, prune_task_results

pytestmark = pytest.mark.django_db


def test_old_finished_task_rows_are_pruned_and_recent_ones_kept():
    old, recent = sweep_deadlines.enqueue(), sweep_deadlines.enqueue()
    finished = timezone.now() - dt.timedelta(days=KEEP_DAYS + 1)
    DBTaskResult.objects.filter(id=old.id).update(status="SUCCESSFUL", finished_at=finished)
    DBTaskResult.objects.filter(id=recent.id).update(status="SUCCESSFUL", finished_at=timezone.now())
    prune_task_results.call()
    assert [str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)] == [str(recent.id)]
