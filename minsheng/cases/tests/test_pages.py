"""The workbench pages as each role uses them (through the test client)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from minsheng.cases import actions
from minsheng.cases.models import Case
from minsheng.cases.tests.cast import luokou, person, unit
from minsheng.cases.tests.test_lifecycle import register
from minsheng.core.models import PiiAccess

pytestmark = pytest.mark.django_db


def login(client, username):
    client.force_login(person(username))
    return client


def entry(**overrides):
    data = {
        "channel": "phone",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "appellant_name": "张先生",
        "appellant_phone": "13905310003",
        "content": "泺口服装城附近夜间有人打架斗殴，希望加强巡逻。",
        "address": "天桥区泺口街道",
        "township": "370105015",
    }
    data.update(overrides)
    return data


def test_dispatcher_registers_a_phone_appeal_and_dispatches_at_once(client):
    login(client, "dispatcher")
    response = client.post(reverse("case-new"), entry(dispatch_to=luokou().pk))
    case = Case.objects.get(title__startswith="泺口服装城")
    assert response.status_code == 302 and response["Location"] == reverse("case-detail", args=[case.number])
    assert case.state == "dispatched" and case.responsible_unit == luokou()
    assert case.district_code == "370105" and case.township_code == "370105015"


def test_entry_form_errors_are_shown_in_chinese_by_field(client):
    login(client, "dispatcher")
    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("case-new"),
        entry(
            content="", appellant_id_number="370102199001011234", appellant_phone="138abc", received_at=future
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"content", "appellant_id_number", "appellant_phone", "received_at"}
    html = response.content.decode()
    assert "身份证号码校验不通过" in html and "收到时间不能晚于当前时间" in html
    assert not Case.objects.exists()


def test_station_officers_cannot_open_the_entry_form(client):
    login(client, "luokou")
    assert client.get(reverse("case-new")).status_code == 403


def test_case_page_offers_exactly_the_allowed_actions(client):
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    page = login(client, "luokou").get(reverse("case-detail", args=[case.number]))
    offered = [key for key, _, _ in page.context["actions"]]
    assert offered == ["accept", "return"]
    page = login(client, "inspector").get(reverse("case-detail", args=[case.number]))
    assert page.context["actions"] == []
    assert "当前状态下您无可执行的操作" in page.content.decode()


def test_accept_and_complete_from_the_page(client):
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    login(client, "luokou")
    client.post(reverse("case-action", args=[case.number, "accept"]))
    client.post(
        reverse("case-action", args=[case.number, "complete"]),
        {"result": "已约谈店主", "reply": "已责令整改，22点后停止营业。"},
    )
    case.refresh_from_db()
    assert case.state == "completed" and case.reply.startswith("已责令整改")
    page = client.get(reverse("case-detail", args=[case.number])).content.decode()
    assert "已责令整改" in page and "办结答复" in page


def test_a_refused_action_comes_back_as_a_message(client):
    case = register()
    login(client, "dispatcher")
    response = client.post(
        reverse("case-action", args=[case.number, "complete"]), {"result": "x", "reply": "y"}, follow=True
    )
    assert "不能办结答复" in response.content.decode()
    missing = client.post(reverse("case-action", args=[case.number, "dispatch"]), {"unit": ""}, follow=True)
    assert "派往单位" in missing.content.decode()


def test_phone_is_masked_and_every_reveal_is_audited(client):
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    appeal = case.appeals.get()
    login(client, "luokou")
    page = client.get(reverse("case-detail", args=[case.number])).content.decode()
    assert "139****0001" in page and "13905310001" not in page
    shown = client.post(reverse("case-reveal", args=[case.number, appeal.pk, "phone"]))
    assert "13905310001" in shown.content.decode()
    access = PiiAccess.objects.get()
    assert (access.user.username, access.appeal_id, access.field) == ("luokou", appeal.pk, "phone")


def test_city_leaders_see_masked_numbers_only(client):
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    login(client, "leader")
    page = client.get(reverse("case-detail", args=[case.number])).content.decode()
    assert "查看完整号码" not in page
    assert (
        client.post(reverse("case-reveal", args=[case.number, case.appeals.get().pk, "phone"])).status_code
        == 403
    )
    assert not PiiAccess.objects.exists()


def test_workbench_queues_count_and_filter(client):
    first = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    register(content="咨询护照办理需要什么材料", appellant_phone="13905310009")
    login(client, "dispatcher")
    page = client.get(reverse("workbench"))
    counts = {q.key: n for q, n in page.context["queues"]}
    assert counts["to_dispatch"] == 1 and counts["to_accept"] == 1 and counts["all"] == 2
    by_phone = client.get(reverse("workbench"), {"queue": "all", "q": "13905310009"})
    assert [c.number for c in by_phone.context["page"]] != [first.number]
    assert len(by_phone.context["page"]) == 1
    by_number = client.get(reverse("workbench"), {"queue": "all", "q": first.number})
    assert [c.number for c in by_number.context["page"]] == [first.number]
    by_text = client.get(reverse("workbench"), {"queue": "all", "q": "护照"})
    assert len(by_text.context["page"]) == 1
    bad_dates = client.get(reverse("workbench"), {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert "结束日期不能早于开始日期" in bad_dates.content.decode()


def test_station_officer_does_not_get_the_dispatch_queue(client):
    page = login(client, "luokou").get(reverse("workbench"))
    keys = [q.key for q, _ in page.context["queues"]]
    assert "to_dispatch" not in keys and page.context["queue"] == "to_accept"


def test_htmx_queue_switch_returns_the_partial(client):
    login(client, "dispatcher")
    response = client.get(
        reverse("workbench"), {"queue": "closed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue"
    )
    html = response.content.decode()
    assert "<html" not in html and 'data-queue="closed"' in html


def test_login_page_and_wrong_password(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "dispatcher", "password": "wrong"})
    assert "账号或密码错误" in response.content.decode()


def queries_for(client, url, params=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


def test_queue_and_case_pages_have_a_query_budget_that_does_not_grow_with_the_data(client):
    login(client, "luokou")
    for _ in range(3):
        actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    few = queries_for(client, reverse("workbench"), {"queue": "all"})
    for _ in range(12):
        case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
        actions.accept_case(case, actor=person("luokou"))
        actions.add_note(case, actor=person("luokou"), note="走访")
    many = queries_for(client, reverse("workbench"), {"queue": "all"})
    assert many == few <= 12
    case_page = queries_for(client, reverse("case-detail", args=[case.number]))
    assert case_page <= 20


def test_repeated_wrong_passwords_lock_the_login(client):
    for _ in range(5):
        client.post(reverse("login"), {"username": "dispatcher", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "dispatcher", "password": "minsheng2026"})
    assert locked.status_code == 429 and "登录已暂时锁定" in locked.content.decode()


def test_workbench_shows_daily_direct_and_return_rates(client):
    from minsheng.cases.stats import daily_dispatch

    direct = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    actions.dispatch_case(register(), unit("天桥分局"), actor=person("dispatcher"))
    actions.return_case(direct, actor=person("luokou"), reason="非我辖区")
    today = daily_dispatch(Case.objects.all(), days=7, today=timezone.localdate())[0]
    assert (today["dispatched"], today["direct"], today["returned"]) == (2, 1, 1)
    assert today["direct_rate"] == 0.5 and today["return_rate"] == 0.5
    page = login(client, "dispatcher").get(reverse("workbench")).content.decode()
    assert "近 7 日受理与派单" in page and "50%" in page
    # A station sees only its own figures.
    own = daily_dispatch(Case.objects.visible_to(person("luokou")), days=1, today=timezone.localdate())[0]
    assert own["dispatched"] == 0  # the returned case left the station's scope
