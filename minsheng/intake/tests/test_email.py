"""The chief's mailbox by e-mail: polled from a real IMAP server (dovecot), stored raw, parsed, flagged."""

import base64
import datetime as dt
import email.policy
from email.message import EmailMessage

import pytest

from minsheng.appeals.models import Appeal
from minsheng.intake import email as mail_channel
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.normalise import FieldError
from minsheng.intake.tasks import poll_mailbox
from minsheng.intake.tests.dovecot import running_dovecot

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Crash(BaseException):
    """Stands for the process dying: not an Exception any handler would catch."""


@pytest.fixture(scope="module")
def imap_server():
    # One server for the module (it starts in well under a second, but stops in about one).
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap(imap_server, settings, tmp_path, world):
    """An empty INBOX, the poller pointed at it, attachments written under tmp_path."""
    settings.IMAP = imap_server.settings()
    settings.MEDIA_ROOT = tmp_path
    with imap_server.mailbox() as box:
        box.delete(box.uids())
    return imap_server


def deliver(server, raw: bytes) -> None:
    with server.mailbox() as box:
        box.append(raw)


def flags(server) -> list[tuple[str, ...]]:
    with server.mailbox() as box:
        return [message.flags for message in box.fetch(mark_seen=False)]


def utf8_mail(message_id="<20261127093000.1@mail.example.com>") -> bytes:
    message = EmailMessage()
    message["From"] = "王女士 <wang@example.com>"
    message["To"] = "jzxx@jnga.example.gov.cn"
    message["Subject"] = "回复：泺口街道小区门口夜间噪音"
    message["Message-ID"] = message_id
    message.set_content(
        "局长您好：\n"
        "泺口街道某小区楼下ＫＴＶ每晚营业到凌晨两点，噪音扰民，多次反映未果。\n"
        "联系电话 138-0531-2345。\n"
        "\n"
        "-- \n"
        "王女士\n"
        "\n"
        "在 2026年11月20日 10:00，局长信箱 写道：\n"
        "> 您反映的问题已转辖区派出所办理，联系电话 0531-86011234。\n"
    )
    return message.as_bytes(policy=email.policy.SMTP)


def b64(text: str, charset: str = "gbk") -> str:
    return base64.b64encode(text.encode(charset)).decode()


def gbk_mail() -> bytes:
    """As Foxmail/Outlook in Chinese send it: "gb2312" labels on GBK text (镕 is not in GB2312), an
    encoded-word file name, a raw 8-bit one, and a Word file the intake does not take."""
    body = "局长您好：我叫张镕，反映历城区某路口信号灯故障，照片和材料见附件。电话：＋８６ １３９０５３１００００".encode(
        "gbk"
    )
    photo_name = "现场照片.jpg".encode("gbk")
    return b"\r\n".join(
        [
            f"From: =?GBK?B?{b64('张镕')}?= <zhangrong@qq.example.com>".encode(),
            b"To: jzxx@jnga.example.gov.cn",
            f"Subject: =?gb2312?B?{b64('路口信号灯故障（张镕）')}?=".encode(),
            b"Message-ID: <gbk-0001@qq.example.com>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="----=_NextPart_000"',
            b"",
            b"------=_NextPart_000",
            b'Content-Type: text/plain; charset="gb2312"',
            b"Content-Transfer-Encoding: base64",
            b"",
            base64.encodebytes(body).replace(b"\n", b"\r\n").rstrip(),
            b"------=_NextPart_000",
            b"Content-Type: image/jpeg",
            b'Content-Disposition: attachment; filename="' + photo_name + b'"',
            b"Content-Transfer-Encoding: base64",
            b"",
            base64.encodebytes(JPEG).replace(b"\n", b"\r\n").rstrip(),
            b"------=_NextPart_000",
            f'Content-Type: application/octet-stream; name="=?GBK?B?{b64("举报材料.pdf")}?="'.encode(),
            f'Content-Disposition: attachment; filename="=?GBK?B?{b64("举报材料.pdf")}?="'.encode(),
            b"Content-Transfer-Encoding: base64",
            b"",
            base64.encodebytes(PDF).replace(b"\n", b"\r\n").rstrip(),
            b"------=_NextPart_000",
            b"Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            f'Content-Disposition: attachment; filename="=?GBK?B?{b64("说明.docx")}?="'.encode(),
            b"Content-Transfer-Encoding: base64",
            b"",
            base64.encodebytes(b"PK\x03\x04 not really a docx").rstrip(),
            b"------=_NextPart_000--",
            b"",
        ]
    )


# --- against the IMAP server --------------------------------------------------------------------------
def test_a_plain_mail_becomes_one_appeal_and_its_raw_bytes_are_kept(imap):
    raw = utf8_mail()
    deliver(imap, raw)

    result = mail_channel.poll()

    assert result.as_dict() == {"fetched": 1, "created": 1, "duplicates": 0, "quarantined": 0, "failed": 0}
    appeal = Appeal.objects.get()
    assert appeal.channel == "email"
    assert appeal.title == "泺口街道小区门口夜间噪音"  # the reply prefix is not part of the title
    assert "KTV每晚营业到凌晨两点" in appeal.content  # full-width letters folded
    assert "已转辖区派出所" not in appeal.content  # the quoted earlier answer is not the citizen's
    assert "来信邮箱：wang@example.com" in appeal.content
    assert appeal.appellant_phone == "13805312345"
    assert appeal.appellant_name == "王女士"
    assert (appeal.external_source, appeal.external_ref) == (imap.user, "20261127093000.1@mail.example.com")
    payload = RawPayload.objects.get()
    assert payload.status == PayloadStatus.PROCESSED and payload.appeal == appeal
    assert (payload.channel, payload.transport, payload.source) == ("email", "imap", imap.user)
    assert payload.content_type == "message/rfc822"
    assert bytes(payload.body) == raw  # byte for byte what the server held
    assert payload.headers["message_id"] == "20261127093000.1@mail.example.com"
    assert payload.headers["subject"] == "回复：泺口街道小区门口夜间噪音"
    assert flags(imap) == [("\\Seen",)]


def test_a_gbk_mail_with_a_photo_and_a_pdf(imap):
    deliver(imap, gbk_mail())

    assert mail_channel.poll().created == 1

    appeal = Appeal.objects.get()
    assert appeal.title == "路口信号灯故障（张镕）"
    assert appeal.appellant_name == "张镕"
    assert "我叫张镕" in appeal.content and "信号灯故障" in appeal.content
    assert appeal.appellant_phone == "13905310000"
    assert "说明.docx" in appeal.content and "未导入" in appeal.content
    attachments = {a.name: a for a in appeal.attachments.all()}
    assert set(attachments) == {"现场照片.jpg", "举报材料.pdf"}
    assert attachments["现场照片.jpg"].content_type == "image/jpeg"
    assert attachments["举报材料.pdf"].content_type == "application/pdf"  # from octet-stream by name
    assert attachments["现场照片.jpg"].file.read() == JPEG
    assert attachments["举报材料.pdf"].size == len(PDF)


def test_polling_again_never_makes_a_second_appeal(imap):
    deliver(imap, utf8_mail())
    assert mail_channel.poll().created == 1
    assert mail_channel.poll().fetched == 0  # read: not fetched again

    # The flag was lost (another client marked it unread, or the STORE failed): recognised, not re-stored.
    with imap.mailbox() as box:
        box.client.uid("STORE", box.uids()[0], "-FLAGS", r"(\Seen)")
    again = mail_channel.poll()
    assert (again.fetched, again.duplicates, again.created) == (1, 1, 0)

    # The same mail delivered a second time (same Message-ID).
    deliver(imap, utf8_mail())
    assert mail_channel.poll().duplicates == 1

    assert Appeal.objects.count() == 1 and RawPayload.objects.count() == 1
    assert flags(imap) == [("\\Seen",), ("\\Seen",)]


def test_a_crash_after_storing_before_flagging_is_finished_by_the_next_poll(imap, monkeypatch):
    deliver(imap, utf8_mail())

    def dying(mailbox, uid):
        raise Crash

    monkeypatch.setattr(mail_channel, "mark_seen", dying)
    with pytest.raises(Crash):
        mail_channel.poll()
    assert RawPayload.objects.get().status == PayloadStatus.PENDING  # committed before the crash
    assert not Appeal.objects.exists()
    assert flags(imap) == [()]  # still unread, so it is read again

    monkeypatch.undo()
    result = mail_channel.poll()
    assert (result.fetched, result.created) == (1, 1)
    assert RawPayload.objects.get().status == PayloadStatus.PROCESSED
    assert Appeal.objects.count() == 1
    assert flags(imap) == [("\\Seen",)]


def test_a_mail_without_text_is_quarantined_not_lost(imap):
    raw = b"From: someone@example.com\r\nSubject: \r\nMessage-ID: <empty-1@example.com>\r\n\r\n\r\n"
    deliver(imap, raw)

    result = mail_channel.poll()

    assert (result.fetched, result.quarantined, result.created) == (1, 1, 0)
    payload = RawPayload.objects.get()
    assert payload.status == PayloadStatus.QUARANTINED and payload.error_field == "content"
    assert bytes(payload.body) == raw
    assert not Appeal.objects.exists()
    assert flags(imap) == [("\\Seen",)]


def test_the_scheduled_task_polls(imap):
    deliver(imap, utf8_mail())
    assert poll_mailbox.call()["created"] == 1


def test_nothing_is_polled_without_a_host(settings):
    settings.IMAP = {"HOST": "", "USER": "chief"}
    assert mail_channel.poll() == mail_channel.PollResult()
    assert poll_mailbox.call() == mail_channel.PollResult().as_dict()


# --- the parser alone ----------------------------------------------------------------------------------
def parse(raw: bytes, **fields):
    return mail_channel.parse_imap(RawPayload(channel="email", transport="imap", body=raw, **fields))


def test_an_html_only_gb18030_mail_without_its_quoted_reply():
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<div>您好，</div><div>高新区某工地夜间施工，电话１３６&nbsp;０５３１&nbsp;２２２２。</div>"
        "<div>发自我的iPhone</div>"
        "<div>------------------&nbsp;原始邮件&nbsp;------------------</div>"
        "<div>发件人: 局长信箱</div><blockquote>已转交，联系电话 13700000000</blockquote>"
        "</body></html>"
    )
    raw = (
        b"From: =?gb18030?B?" + base64.b64encode("李先生".encode("gb18030")) + b"?= <li@163.example.com>\r\n"
        b"Subject: =?GB18030?B?" + base64.b64encode("工地噪音".encode("gb18030")) + b"?=\r\n"
        b"Message-ID: <html-1@163.example.com>\r\n"
        b"Content-Type: text/html; charset=GB18030\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + html.encode("gb18030")
    )
    data = parse(raw)
    assert data.content.startswith("您好，\n高新区某工地夜间施工")
    assert "原始邮件" not in data.content and "已转交" not in data.content and "iPhone" not in data.content
    assert "color" not in data.content
    assert data.appellant_phone == "13605312222"
    assert (data.title, data.appellant_name) == ("工地噪音", "李先生")


def test_raw_8bit_headers_in_gbk_are_read():
    raw = (
        "From: 赵镕 <zhao@example.com>\r\nSubject: 咨询户口迁移\r\n\r\n请问户口迁移需要什么材料？\r\n".encode(
            "gbk"
        )
    )
    data = parse(raw)
    assert (data.title, data.appellant_name) == ("咨询户口迁移", "赵镕")
    assert data.content.startswith("请问户口迁移需要什么材料？")


def test_a_subject_alone_is_enough_and_a_long_message_id_is_digested():
    long_id = "x" * 80 + "@example.com"
    data = parse(f"From: a@example.com\r\nSubject: 举报\r\nMessage-ID: <{long_id}>\r\n\r\n".encode())
    assert data.content.startswith("举报")
    assert data.external_ref.startswith("sha256:") and len(data.external_ref) == 64


def test_an_oversized_attachment_is_left_out_with_a_note(monkeypatch):
    monkeypatch.setattr(mail_channel, "MAX_ATTACHMENT_BYTES", 1000)
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "照片"
    message.set_content("见附件")
    message.add_attachment(b"\xff\xd8" + b"0" * 2000, maintype="image", subtype="jpeg", filename="大图.jpg")
    message.add_attachment(b"\xff\xd8" + b"0" * 10, maintype="image", subtype="jpeg", filename="小图.jpg")
    data = parse(message.as_bytes())
    assert [name for name, _type, _data in data.attachments] == ["小图.jpg"]
    assert "“大图.jpg”" in data.content and "未导入" in data.content


def test_the_arrival_time_comes_from_our_servers_received_header():
    stored_at = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    raw = (
        b"Received: from mx.example.com by mail.jnga.example.gov.cn; Fri, 27 Nov 2026 16:30:00 +0800\r\n"
        b"Date: Sat, 1 Jan 2028 00:00:00 +0800\r\n"  # the sender's clock is wrong
        b"Subject: test\r\n\r\nbody\r\n"
    )
    assert parse(raw, received_at=stored_at).received_at == dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)


def test_a_mail_with_nothing_in_it_is_a_content_error():
    with pytest.raises(FieldError) as error:
        parse(b"From: a@example.com\r\n\r\n")
    assert error.value.field == "content"


def test_an_overlong_letter_is_cut_not_quarantined():
    data = parse(("From: a@example.com\r\nSubject: x\r\n\r\n" + "很长的信。" * 3000).encode())
    assert "已截断" in data.content and len(data.content) <= 10_000
