"""自动比对 in a real browser: a possible duplicate confirmed in one click, and a link split off again."""

import pytest
from playwright.sync_api import expect

from minsheng.appeals.choices import LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.dedup.tests.test_intake import BBQ, BBQ_ELSEWHERE, BBQ_NEIGHBOUR, arrive
from tests.browser.test_case_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dispatcher_links_a_possible_duplicate_and_splits_a_link(world, live_server, page, shoot):
    first = arrive(BBQ, address="历下区甸柳新村三区12号楼")
    neighbour = arrive(BBQ_NEIGHBOUR, phone="13805319999", days=1, address="历下区甸柳新村三区")
    other = arrive(BBQ_ELSEWHERE, phone="13705312222", days=1, address="历下区甸柳新村五区3号楼")
    assert neighbour.case_id == first.case_id and other.case_id != first.case_id
    base = live_server.url

    log_in(page, base, "dispatcher")
    page.goto(f"{base}/cases/{other.case.number}/")
    panel = page.get_by_test_id("duplicates")
    expect(panel).to_contain_text("疑似与工单")
    expect(panel).to_contain_text(first.case.number)
    expect(panel).to_contain_text("楼栋不同")
    shoot(page, "dup-01-suggestion")
    page.get_by_test_id("duplicate-link").click()
    expect(page).to_have_url(f"{base}/cases/{first.case.number}/")
    expect(page.get_by_test_id("timeline")).to_contain_text("关联诉求")
    assert Case.objects.get(pk=other.case_id).state == CaseState.CLOSED
    assert first.case.appeals.count() == 3

    # The neighbour's appeal was about another stall after all: split it off with the reason.
    page.locator(f"#split-reason-{neighbour.pk}").locator("xpath=ancestor::details").locator(
        "summary"
    ).click()
    page.fill(f"#split-reason-{neighbour.pk}", "是对面楼的另一家烧烤摊")
    shoot(page, "dup-02-split")
    page.locator(f"#split-reason-{neighbour.pk} >> xpath=ancestor::form").get_by_test_id(
        "split-appeal"
    ).click()
    expect(page.get_by_test_id("timeline")).to_contain_text("拆分诉求")
    moved = Appeal.objects.get(pk=neighbour.pk)
    assert moved.case_id != first.case_id and moved.link_kind == LinkKind.MASTER
