"""Who may do what to a case in which state: written once, used by the pages, the API and the actions.

Each rule answers ``None`` when allowed, or the reason (in Chinese) why not. ``available_actions``
lists what a user may do now, so a page shows exactly those buttons and nothing else.
"""

from minsheng.accounts.models import HANDLING_ROLES, Role
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case, ExtensionState

MANAGING_ROLES = (Role.MAIN_LEADER, Role.DEPUTY_LEADER, Role.HEAD, Role.ADMINISTRATOR)

# action → states in which it may be taken
STATES = {
    "dispatch": (CaseState.REGISTERED, CaseState.RETURNED, CaseState.DISPATCHED),
    "accept": (CaseState.DISPATCHED,),
    "return": (CaseState.DISPATCHED, CaseState.IN_PROGRESS),
    "assign": (CaseState.DISPATCHED, CaseState.IN_PROGRESS),
    "note": (CaseState.IN_PROGRESS,),
    "request_extension": (CaseState.IN_PROGRESS,),
    "decide_extension": (CaseState.IN_PROGRESS,),
    "complete": (CaseState.IN_PROGRESS,),
    "followup": (CaseState.COMPLETED,),
    "close": (CaseState.COMPLETED,),
    "investigate": (CaseState.INVESTIGATING,),
    # Correcting the category (更正类别): until the follow-up; the handling unit only once accepted.
    "categorise": (
        CaseState.REGISTERED,
        CaseState.RETURNED,
        CaseState.DISPATCHED,
        CaseState.IN_PROGRESS,
        CaseState.COMPLETED,
    ),
}

ACTION_LABELS = {
    "dispatch": "派单",
    "accept": "签收",
    "return": "退单",
    "assign": "指定承办人",
    "note": "办理进展",
    "request_extension": "申请延期",
    "decide_extension": "审批延期",
    "complete": "办结答复",
    "followup": "回访",
    "close": "结案",
    "investigate": "核查结论",
    "categorise": "更正类别",
}


def is_dispatcher(user) -> bool:
    return user.has_role(Role.DISPATCHER, Role.PLATFORM_ADMIN)


def may_dispatch_to(user, unit) -> bool:
    """City-level dispatchers send anywhere; a branch's dispatcher only inside the branch."""
    if user.has_role(Role.PLATFORM_ADMIN):
        return True
    for own in user.units_with_role(Role.DISPATCHER):
        if own.level == 1 or unit.is_within(own):
            return True
    return False


def handles(user, case: Case, roles=HANDLING_ROLES) -> bool:
    """Whether the user works in the case's responsible unit with one of ``roles``."""
    if case.responsible_unit_id is None:
        return False
    return any(m.unit_id == case.responsible_unit_id and m.role in roles for m in user.memberships_cached)


def supervises(user, case: Case) -> bool:
    """A supervisor of the responsible unit's level-2 ancestor (or of level 1) decides on extensions."""
    if user.has_role(Role.PLATFORM_ADMIN):
        return True
    if case.responsible_unit_id is None:
        return False
    unit = case.responsible_unit
    for own in user.units_with_role(Role.SUPERVISOR):
        if own.level == 1 or (own.pk != unit.pk and unit.is_within(own)):
            return True
    return False


def may_follow_up(user) -> bool:
    if user.has_role(Role.PLATFORM_ADMIN):
        return True
    return any(u.level == 1 for u in user.units_with_role(Role.FOLLOWUP_AGENT, Role.DISPATCHER))


def may_investigate(user) -> bool:
    return user.has_role(Role.INSPECTOR, Role.PLATFORM_ADMIN)


def pending_extension(case: Case):
    return case.extensions.filter(state=ExtensionState.PENDING).first()


class Refusal(str):
    """The reason (in Chinese) an action is refused; ``conflict`` when it is the case's state that
    stands in the way (answered 409) rather than the person's role (403)."""

    conflict = False


def _conflict(message: str) -> Refusal:
    refusal = Refusal(message)
    refusal.conflict = True
    return refusal


def why_not(user, action: str, case: Case) -> Refusal | str | None:
    """None when ``user`` may take ``action`` on ``case`` now, else the reason in Chinese."""
    if not user.is_authenticated or not user.is_active:
        return "请先登录"
    if case.state not in STATES[action]:
        return _conflict(f"工单当前状态为“{case.get_state_display()}”，不能{ACTION_LABELS[action]}")
    if action == "dispatch":
        return None if is_dispatcher(user) else "只有派单员可以派单"
    if action in ("accept", "return", "note", "complete"):
        return None if handles(user, case) else "只有承办单位的人员可以办理本工单"
    if action == "assign":
        return None if handles(user, case, MANAGING_ROLES) else "只有承办单位的负责人可以指定承办人"
    if action == "request_extension":
        if not handles(user, case):
            return "只有承办单位的人员可以申请延期"
        return _conflict("已有待审批的延期申请") if pending_extension(case) else None
    if action == "decide_extension":
        if not supervises(user, case):
            return "只有上级督办单位可以审批延期"
        return None if pending_extension(case) else _conflict("没有待审批的延期申请")
    if action == "followup":
        return None if may_follow_up(user) else "只有平台回访员可以登记回访结果"
    if action == "close":
        if not (may_follow_up(user) or is_dispatcher(user)):
            return "只有平台办可以结案"
        if (
            case.category_id
            and case.category.followup_required
            and case.appeals.exclude(appellant_phone="").exists()
        ):
            return "该工单需要回访，回访后自动结案"
        return None
    if action == "investigate":
        return None if may_investigate(user) else "只有督察、纪检、法制或平台办可以登记核查结论"
    if action == "categorise":
        # The platform office (dispatchers, follow-up agents) at any of these steps; the handling unit
        # once it has accepted the case and knows what it is about.
        if is_dispatcher(user) or may_follow_up(user):
            return None
        if handles(user, case):
            if case.state == CaseState.IN_PROGRESS:
                return None
            return _conflict("签收后方可更正类别")
        return "只有派单员、平台办或承办单位可以更正类别"
    raise KeyError(action)


def may(user, action: str, case: Case) -> bool:
    return why_not(user, action, case) is None


def available_actions(user, case: Case) -> list[str]:
    return [action for action in STATES if may(user, action, case)]
