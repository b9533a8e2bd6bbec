"""Background work on cases, run by the ``db_worker`` and enqueued by the scheduler."""

from django_tasks import task

from minsheng.cases import actions
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.core import clock
from minsheng.core.heartbeat import beat


@task()
def sweep_deadlines() -> int:
    """Note on each case's timeline the deadlines that have just passed; returns how many."""
    now = clock.now()
    beat("worker", "sweep_deadlines")
    late = Case.objects.filter(
        state=CaseState.DISPATCHED, accept_overdue=False, accept_due_at__lt=now
    ) | Case.objects.filter(state=CaseState.IN_PROGRESS, complete_overdue=False, complete_due_at__lt=now)
    marked = 0
    # Each case is its own transaction: a crash half-way leaves the rest for the next sweep, and a
    # case swept twice is noted once (mark_overdue is a compare-and-set).
    for case in late.select_related("responsible_unit").iterator(chunk_size=500):
        marked += actions.mark_overdue(case, now=now)
    return marked
