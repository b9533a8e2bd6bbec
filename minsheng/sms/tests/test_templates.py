"""SMS texts admins edit: variables checked, a preview before saving, a safe fallback."""

import pytest
from django.urls import reverse

from minsheng.cases.tests.cast import person
from minsheng.sms import texts
from minsheng.sms.models import SmsTemplate

pytestmark = pytest.mark.django_db

VALUES = {"标题": "噪音", "工单编号": "202611240000001", "承办单位": "泺口派出所", "答复": "已处理。"}


@pytest.fixture
def admin_client(client):
    client.force_login(person("admin"))
    return client


def template(key="followup_case") -> SmsTemplate:
    texts.ensure_rows()
    return SmsTemplate.objects.get(key=key)


def test_every_registered_text_has_an_editable_row():
    texts.ensure_rows()
    assert set(SmsTemplate.objects.values_list("key", flat=True)) >= {
        "followup_case",
        "followup_case_again",
        "followup_service",
    }


def test_the_change_page_lists_the_variables_and_previews(admin_client):
    row = template()
    body = admin_client.get(reverse("admin:sms_smstemplate_change", args=[row.pk])).content.decode()
    assert "{工单编号}" in body
    assert "楼下烧烤店夜间噪音扰民" in body  # the sample value in the preview
    assert "条短信" in body


def test_an_edit_is_used_for_the_next_message(admin_client):
    row = template()
    response = admin_client.post(
        reverse("admin:sms_smstemplate_change", args=[row.pk]),
        {"name": row.name, "body": "【济南公安】工单{工单编号}已办结，满意回1，不满意回3。", "active": "on"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.updated_by == person("admin")
    assert (
        texts.render("followup_case", VALUES) == "【济南公安】工单202611240000001已办结，满意回1，不满意回3。"
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("您的工单{编号}已办结", "未知变量 {编号}"),
        ("您的工单{工单编号!r}已办结", "不支持格式说明"),
        ("您的工单{工单编号:>999999}已办结", "不支持格式说明"),
        ("您的工单{工单编号.__class__}已办结", "未知变量"),
        ("少了一个{括号", "花括号不配对"),
        ("   ", "短信内容不能为空"),
    ],
)
def test_a_bad_text_is_refused_with_the_reason(admin_client, body, error):
    row = template()
    response = admin_client.post(
        reverse("admin:sms_smstemplate_change", args=[row.pk]),
        {"name": row.name, "body": body, "active": "on"},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    row.refresh_from_db()
    assert row.body == texts.REGISTRY["followup_case"].default


def test_preview_shows_the_unsaved_text_and_its_cost(admin_client):
    row = template()
    response = admin_client.post(
        reverse("admin:sms_smstemplate_preview", args=[row.pk]), {"body": "工单{工单编号}" + "长" * 80}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "工单202611270000123" in body
    assert "<strong>2</strong> 条短信" in body
    row.refresh_from_db()
    assert "长" * 80 not in row.body


def test_a_broken_row_falls_back_to_the_default():
    row = template()
    SmsTemplate.objects.filter(pk=row.pk).update(body="{不存在的变量}")
    assert texts.render("followup_case", VALUES).startswith("【济南公安】您反映的“噪音”")


def test_an_inactive_row_uses_the_default():
    row = template()
    SmsTemplate.objects.filter(pk=row.pk).update(body="自定义{工单编号}", active=False)
    assert texts.render("followup_case", VALUES).startswith("【济南公安】您反映的")


def test_only_admins_edit_texts(client):
    client.force_login(person("followup"))
    assert client.get(reverse("admin:sms_smstemplate_changelist")).status_code == 302
