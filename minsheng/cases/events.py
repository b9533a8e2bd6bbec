"""Constructors of timeline events: one place that says what each event records."""

from minsheng.cases.choices import EventAction
from minsheng.cases.models import Case, CaseEvent


def record(case: Case, action: EventAction, **kwargs) -> CaseEvent:
    """Append one event. ``to_state`` is left blank for events that do not change the state."""
    event = build(case, action, **kwargs)
    event.save()
    return event


def build(
    case: Case,
    action: EventAction,
    *,
    actor=None,
    unit=None,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    at=None,
    **data,
) -> CaseEvent:
    """The event ``record`` appends, not saved yet (a batch writes many at once)."""
    if unit is None and actor is not None and getattr(actor, "units", None):
        unit = actor.units[0]
    event = CaseEvent(
        case=case,
        action=action,
        actor=actor,
        actor_unit=unit,
        from_state=from_state,
        to_state=to_state if to_state != from_state else "",
        note=note,
        data={key: value for key, value in data.items() if value is not None},
    )
    if at is not None:
        event.at = at
    return event
