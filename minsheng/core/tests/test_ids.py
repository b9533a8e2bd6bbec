"""Ids reserved before the rows are written (``core.ids``)."""

import pytest
from django.db import transaction

from minsheng.appeals.models import Appeal
from minsheng.cases import actions
from minsheng.cases.models import Case
from minsheng.core import ids

pytestmark = pytest.mark.django_db


def test_reserved_ids_are_new_increasing_and_never_given_again():
    with transaction.atomic():
        first = ids.reserve(Case, 3)
        second = ids.reserve(Case, 2)
    assert first == sorted(first) and len(set(first + second)) == 5
    assert min(second) > max(first)
    assert ids.reserve(Case, 0) == []
    # A case opened the ordinary way afterwards takes an id after the reserved ones, unused as they are.
    case = actions.open_case(title="", content="测试", category=None, channel="phone")
    assert case.pk > max(second)
    assert not Case.objects.filter(pk__in=first + second).exists()


def test_reserved_ids_can_be_written():
    with transaction.atomic():
        (pk,) = ids.reserve(Appeal, 1)
        case = actions.open_case(title="", content="测试", category=None, channel="phone")
        Appeal.objects.create(
            pk=pk, case=case, channel="phone", content="测试", received_at=case.registered_at
        )
    assert Appeal.objects.get(pk=pk).case_id == case.pk
