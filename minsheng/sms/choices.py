"""States and kinds of SMS messages, each with its Chinese label (and a badge colour)."""

from django.db import models


class MessageState(models.TextChoices):
    QUEUED = "queued", "待发送"
    CLAIMED = "claimed", "已领取"
    SENDING = "sending", "发送中"
    SENT = "sent", "已提交网关"
    DELIVERED = "delivered", "已送达"
    FAILED = "failed", "发送失败"
    CANCELLED = "cancelled", "已取消"


MESSAGE_BADGE = {
    MessageState.QUEUED: "grey",
    MessageState.CLAIMED: "blue",
    MessageState.SENDING: "blue",
    MessageState.SENT: "teal",
    MessageState.DELIVERED: "green",
    MessageState.FAILED: "red",
    MessageState.CANCELLED: "orange",
}

# Not yet handed to the gateway: the states a message can still be cancelled or deferred in.
PENDING_STATES = (MessageState.QUEUED, MessageState.CLAIMED)
# The gateway has (or, for SENDING, may have) the message.
FINAL_STATES = (MessageState.DELIVERED, MessageState.FAILED, MessageState.CANCELLED)


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM 7位"
    UCS2 = "ucs2", "UCS-2（中文）"


class InboundStatus(models.TextChoices):
    HANDLED = "handled", "已处理"
    UNCLEAR = "unclear", "无法识别，转人工"
    OPT_OUT = "opt_out", "退订"
    UNMATCHED = "unmatched", "无对应短信"
    LATE = "late", "回复过晚（已回访）"


class InboundSource(models.TextChoices):
    KANNEL = "kannel", "Kannel 网关"
    SIMULATOR = "simulator", "手机模拟器"


# Kannel's delivery report types (the %d of a dlr-url), with what each means for the message.
class DlrType(models.IntegerChoices):
    DELIVERED = 1, "已送达手机"
    UNDELIVERED = 2, "未能送达手机"
    BUFFERED = 4, "短信中心排队"
    SMSC_ACCEPTED = 8, "短信中心已接收"
    SMSC_REJECTED = 16, "短信中心拒收"
