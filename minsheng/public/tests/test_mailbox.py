"""The chief's mailbox: a citizen writes in, with attachments, limits and a tracking code."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minsheng.appeals.models import Appeal
from minsheng.cases import actions
from minsheng.cases.tests.cast import luokou, person
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.public import views

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 1000


def letter(**extra):
    data = {
        "title": "小区门口占道经营",
        "content": "泺口街道某小区门口每天早上有人占道摆摊，影响通行。",
        "name": "刘女士",
        "phone": "13905318888",
        "address": "天桥区泺口街道",
        "consent": "on",
        "website": "",
    }
    data.update(extra)
    return data


def post(client, data, ip="10.0.0.1"):
    return client.post(reverse("public-mailbox"), data, REMOTE_ADDR=ip)


def test_a_letter_with_attachments_becomes_an_appeal_and_a_tracking_code():
    client = Client()
    photo = SimpleUploadedFile("现场照片.jpg", JPEG, content_type="image/jpeg")
    scan = SimpleUploadedFile("材料.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = post(client, letter(attachments=[photo, scan]))
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert response["Location"] == reverse("public-received", args=[appeal.tracking_code])
    assert appeal.channel == "chief_mailbox" and appeal.title == "小区门口占道经营"
    assert appeal.township_id == "370105015"
    assert sorted(a.name for a in appeal.attachments.all()) == ["材料.pdf", "现场照片.jpg"]
    assert appeal.attachments.get(name="现场照片.jpg").size == len(JPEG)
    payload = RawPayload.objects.get()
    assert payload.status == PayloadStatus.PROCESSED and JPEG[:100] in bytes(payload.body)
    page = client.get(response["Location"]).content.decode()
    assert appeal.tracking_code in page


def test_an_oversized_attachment_is_refused_with_a_clear_message_and_kept():
    big = SimpleUploadedFile(
        "big.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 1), content_type="image/jpeg"
    )
    response = post(Client(), letter(attachments=[big]))
    assert response.status_code == 400
    assert "超过10MB" in response.content.decode()
    assert not Appeal.objects.exists()
    assert RawPayload.objects.get().status == PayloadStatus.REJECTED


def test_a_wrong_file_type_and_missing_fields():
    exe = SimpleUploadedFile("a.exe", b"MZ", content_type="application/octet-stream")
    response = post(Client(), letter(attachments=[exe], content="", phone="12"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "不是图片或PDF" in html and "不是有效的电话号码" in html and "该字段是必填项" in html


def test_the_rate_limit_per_ip_is_hit(monkeypatch):
    monkeypatch.setattr(views, "IP_LIMIT", (2, 3600))
    client = Client()
    for n in range(2):
        assert post(client, letter(phone=f"1390531000{n}")).status_code == 302
    blocked = post(client, letter(phone="13905310009"))
    assert blocked.status_code == 429 and "提交过于频繁" in blocked.content.decode()
    assert post(client, letter(phone="13905310008"), ip="10.0.0.2").status_code == 302
    assert Appeal.objects.count() == 3
    assert RawPayload.objects.filter(status=PayloadStatus.REJECTED).count() == 1


def test_the_rate_limit_per_phone_is_hit(monkeypatch):
    monkeypatch.setattr(views, "PHONE_LIMIT", (1, 86400))
    assert post(Client(), letter()).status_code == 302
    assert post(Client(), letter(), ip="10.0.0.3").status_code == 429


def test_the_honeypot_quietly_keeps_bots_out():
    response = post(Client(), letter(website="http://spam.example"))
    assert response.status_code == 200 and "感谢您的来信" in response.content.decode()
    assert not Appeal.objects.exists()
    assert RawPayload.objects.get().error.startswith("疑似机器人")


def test_tracking_shows_progress_and_the_reply_but_nothing_private():
    post(Client(), letter())
    appeal = Appeal.objects.get()
    case = actions.dispatch_case(appeal.case, luokou(), actor=person("dispatcher"))
    actions.accept_case(case, actor=person("luokou"))
    actions.complete_case(case, actor=person("luokou"), result="已清理", reply="已联合城管清理占道摊点。")
    page = Client().get(reverse("public-track"), {"code": appeal.tracking_code}).content.decode()
    assert "已联合城管清理占道摊点" in page and "已办结" in page
    assert "13905318888" not in page and "刘女士" not in page
    assert Client().get(reverse("public-track"), {"code": "nope"}).status_code == 404
