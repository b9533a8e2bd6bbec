"""States, actions and outcomes of a case, each with its Chinese label (and a badge colour)."""

from django.db import models


class CaseState(models.TextChoices):
    REGISTERED = "registered", "待派单"
    RETURNED = "returned", "已退单"
    DISPATCHED = "dispatched", "待签收"
    IN_PROGRESS = "in_progress", "办理中"
    COMPLETED = "completed", "待回访"
    INVESTIGATING = "investigating", "三级回访核查"
    CLOSED = "closed", "已办结"


STATE_BADGE = {
    CaseState.REGISTERED: "grey",
    CaseState.RETURNED: "orange",
    CaseState.DISPATCHED: "blue",
    CaseState.IN_PROGRESS: "indigo",
    CaseState.COMPLETED: "teal",
    CaseState.INVESTIGATING: "red",
    CaseState.CLOSED: "green",
}

OPEN_STATES = (
    CaseState.REGISTERED,
    CaseState.RETURNED,
    CaseState.DISPATCHED,
    CaseState.IN_PROGRESS,
)


class FollowupAnswer(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"
    UNREACHABLE = "unreachable", "无法联系"


class CloseReason(models.TextChoices):
    SATISFIED = "satisfied", "回访满意"
    BASICALLY_SATISFIED = "basically_satisfied", "回访基本满意"
    UNREACHABLE = "unreachable", "回访无法联系"
    INVESTIGATED = "investigated", "核查终结"
    NO_FOLLOWUP = "no_followup", "无需回访"
    MERGED = "merged", "并入他案"


class EventAction(models.TextChoices):
    REGISTER = "register", "受理登记"
    DISPATCH = "dispatch", "派单"
    ACCEPT = "accept", "签收"
    RETURN = "return", "退单"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    APPROVE_EXTENSION = "approve_extension", "批准延期"
    REFUSE_EXTENSION = "refuse_extension", "驳回延期"
    NOTE = "note", "办理进展"
    ASSIGN = "assign", "指定承办人"
    COMPLETE = "complete", "办结答复"
    INSTANT_COMPLETE = "instant_complete", "即时办结"
    FOLLOWUP = "followup", "回访"
    # A follow-up step that records no answer: handed to an agent (unclear reply, no reply, opt-out,
    # SMS undeliverable) or a call that did not get through. Kept apart from FOLLOWUP so that counting
    # answers (follow-up and satisfaction rates) never counts these.
    FOLLOWUP_NOTE = "followup_note", "回访跟进"
    ESCALATE = "escalate", "升级回访"
    INVESTIGATE = "investigate", "核查结论"
    CLOSE = "close", "结案"
    ACCEPT_OVERDUE = "accept_overdue", "签收超期"
    COMPLETE_OVERDUE = "complete_overdue", "办理超期"
    # A person set or corrected the case's category (data: from/to codes); a label for the classifier.
    CATEGORISE = "categorise", "更正类别"
    # Duplicates (自动比对): another appellant's appeal joined the case, was split off again, or the
    # whole case was handled inside another one; a possible duplicate judged not to be one.
    LINK_APPEAL = "link_appeal", "关联诉求"
    SPLIT_APPEAL = "split_appeal", "拆分诉求"
    MERGE = "merge", "并案办理"
    DISMISS_DUPLICATE = "dismiss_duplicate", "排除重复"
