"""Rows read by primary key without the query compiler (``core.rows``) are the ORM's instances."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from minsheng.cases import actions
from minsheng.cases.models import Case
from minsheng.core.rows import by_pk

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases():
    made = []
    for n, content in enumerate(["小区门口噪音扰民", "路口车辆违停"]):
        appeal = actions.register_appeal(
            actor=None, channel="hotline_12345", content=content, title=f"第{n}件"
        )
        case = appeal.case
        Case.objects.filter(pk=case.pk).update(triage={"category": "noise", "reasons": ["测试"], "n": n})
        made.append(Case.objects.get(pk=case.pk))
    return made


def test_every_field_is_read_as_the_orm_reads_it(cases):
    found = by_pk(Case, [c.pk for c in cases] + [10**9])
    assert found.keys() == {c.pk for c in cases}  # a missing id is left out
    for case in cases:
        mine = found[case.pk]
        for field in Case._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(case, field.attname), field.name
        assert mine.triage["reasons"] == ["测试"]  # JSON decoded, on SQLite too
        assert not mine._state.adding and mine._state.db == "default"


def test_chosen_fields_and_the_rest_deferred(cases):
    case = cases[0]
    mine = by_pk(Case, [case.pk], ("state", "number"))[case.pk]  # any order
    assert (mine.pk, mine.number, mine.state) == (case.pk, case.number, case.state)
    assert mine.get_deferred_fields() >= {"title", "triage"}


def test_a_row_is_locked_when_asked(cases):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        by_pk(Case, [cases[0].pk], for_update=True)
    sql = queries.captured_queries[-1]["sql"]
    assert sql.endswith("FOR UPDATE") == connection.features.has_select_for_update
