"""Kinds and states of follow-up requests, each with its Chinese label (and a badge colour)."""

from django.db import models


class FollowupKind(models.TextChoices):
    CASE = "case", "工单回访"
    SERVICE = "service", "服务评价"


class FollowupState(models.TextChoices):
    WAITING = "waiting", "等待短信回复"
    AGENT = "agent", "待人工回访"
    ANSWERED = "answered", "已回访"
    UNREACHABLE = "unreachable", "无法联系"
    CLOSED = "closed", "已结束"


OPEN_STATES = (FollowupState.WAITING, FollowupState.AGENT)

STATE_BADGE = {
    FollowupState.WAITING: "blue",
    FollowupState.AGENT: "orange",
    FollowupState.ANSWERED: "green",
    FollowupState.UNREACHABLE: "grey",
    FollowupState.CLOSED: "grey",
}


class AgentReason(models.TextChoices):
    """Why a follow-up needs a person."""

    UNCLEAR = "unclear", "短信回复无法识别"
    NO_REPLY = "no_reply", "短信超时未回复"
    SMS_FAILED = "sms_failed", "短信未能送达"
    OPTED_OUT = "opted_out", "群众已退订短信"
    NO_MOBILE = "no_mobile", "非手机号码，需电话回访"


class CallOutcome(models.TextChoices):
    ANSWERED = "answered", "已接通"
    NO_ANSWER = "no_answer", "无人接听"
    BUSY = "busy", "占线"
    POWERED_OFF = "powered_off", "关机/停机"
    WRONG_NUMBER = "wrong_number", "空号/号码错误"
    REFUSED = "refused", "拒绝回答"


NOT_REACHED = (
    CallOutcome.NO_ANSWER,
    CallOutcome.BUSY,
    CallOutcome.POWERED_OFF,
    CallOutcome.WRONG_NUMBER,
    CallOutcome.REFUSED,
)


class AnsweredVia(models.TextChoices):
    SMS = "sms", "短信回复"
    PHONE = "phone", "电话回访"
    REVIEW = "review", "人工判读短信"
