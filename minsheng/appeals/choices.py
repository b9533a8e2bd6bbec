from django.db import models


class Channel(models.TextChoices):
    HOTLINE_12345 = "hotline_12345", "12345热线"
    DISCIPLINE_HOTLINE = "discipline_hotline", "纪委热线"
    CHIEF_MAILBOX = "chief_mailbox", "局长信箱"
    PHONE = "phone", "来电"
    LETTER = "letter", "来信"
    VISIT = "visit", "来访"
    POLICE_110 = "police_110", "110接处警"
    SERVICE_WINDOW = "service_window", "窗口服务"
    EMAIL = "email", "电子邮件"
    OPEN311 = "open311", "开放接口"


# Channels a staff member types in by hand (来电、来信、来访).
MANUAL_CHANNELS = (Channel.PHONE, Channel.LETTER, Channel.VISIT)


class LinkKind(models.TextChoices):
    MASTER = "master", "主件"
    LINKED = "linked", "关联件"
    REPEAT = "repeat", "重复诉求"
