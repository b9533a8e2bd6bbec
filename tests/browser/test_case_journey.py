"""A phone appeal from registration to completion, in a real browser, and a stranger's 404."""

import re

import pytest
from playwright.sync_api import expect

from minsheng.accounts.demo import DEMO_PASSWORD
from minsheng.cases.models import Case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_be_visible()


def log_out(page):
    page.click("text=退出")
    expect(page.locator("#id_username")).to_be_visible()


def test_dispatcher_to_station_to_completion(world, live_server, page, shoot):
    base = live_server.url
    page.goto(f"{base}/login/")
    shoot(page, "01-login")

    log_in(page, base, "dispatcher")
    shoot(page, "02-workbench-dispatcher")
    page.click("nav >> text=登记诉求")
    # Links are boosted by htmx: wait for the swap before touching the new page's fields.
    expect(page).to_have_url(f"{base}/cases/new/")
    expect(page.locator("#id_content")).to_be_visible()
    page.select_option("#id_channel", label="来电")
    page.fill("#id_appellant_name", "张先生")
    page.fill("#id_appellant_phone", "13905310003")
    page.fill("#id_content", "泺口服装城北门每晚有人聚集喝酒喧哗到凌晨，影响周边居民休息，请派出所处理。")
    page.fill("#id_address", "天桥区泺口服装城北门")
    page.select_option("#id_township", label="天桥区 泺口街道")
    page.select_option("#id_category", label="治安/噪音扰民")
    page.select_option("#id_dispatch_to", label="泺口派出所（天桥分局）")
    shoot(page, "03-manual-entry")
    page.click("text=受理登记")
    expect(page.get_by_test_id("case-state")).to_have_text("待签收")
    expect(page.get_by_test_id("responsible-unit")).to_contain_text("泺口派出所")
    number = Case.objects.get().number
    case_url = f"{base}/cases/{number}/"
    assert page.url == case_url
    log_out(page)

    log_in(page, base, "luokou")
    page.goto(f"{base}/?queue=to_accept")
    expect(page.locator(f"text={number}")).to_be_visible()
    shoot(page, "04-workbench-station")
    page.click(f"text={number}")
    expect(page).to_have_url(case_url)
    page.locator("details[data-action=accept] button[type=submit]").click()
    expect(page.get_by_test_id("case-state")).to_have_text("办理中")
    page.locator("details[data-action=complete] summary").click()
    page.fill("details[data-action=complete] textarea[name=result]", "民警到场劝离聚集人员，约谈服装城物业。")
    page.fill(
        "details[data-action=complete] textarea[name=reply]", "已约谈物业加强夜间管理，民警将加强该区域巡逻。"
    )
    page.locator("details[data-action=complete] button[type=submit]").click()
    expect(page.get_by_test_id("case-state")).to_have_text("待回访")
    expect(page.get_by_test_id("reply")).to_contain_text("已约谈物业")

    timeline = page.get_by_test_id("timeline").locator("li")
    expect(timeline).to_have_count(4)
    expected = [
        ("受理登记", "钱派单"),
        ("派单", "钱派单"),
        ("签收", "泺口派出所 李承办"),
        ("办结答复", "泺口派出所 李承办"),
    ]
    for index, (action, actor) in enumerate(expected):
        item = timeline.nth(index)
        expect(item.locator(".what")).to_contain_text(action)
        expect(item.get_by_test_id("event-actor")).to_contain_text(actor)
        expect(item.locator(".when")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"))
    shoot(page, "05-case-completed")
    log_out(page)

    log_in(page, base, "gongren")
    response = page.goto(case_url)
    assert response.status == 404
    shoot(page, "06-other-station-404")
