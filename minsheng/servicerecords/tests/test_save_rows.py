"""Bulk storing of service records: counts, repeats, and a row someone else stored meanwhile.

On PostgreSQL the rows go through a binary COPY straight into the table, or, when a row of the chunk is
stored already, into a temporary table and one INSERT … ON CONFLICT DO NOTHING; elsewhere through
``bulk_create(ignore_conflicts=True)``. All must count alike.
"""

import datetime as dt

import pytest
from django.db import DataError, connection, transaction

from minsheng.intake.normalise import SHANGHAI
from minsheng.servicerecords import intake
from minsheng.servicerecords.models import ServiceRecord
from minsheng.units.models import Unit

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)


def rows(refs, source="batch:service_window"):
    units = intake.UnitIndex()
    return [
        intake.build_values(
            {
                "记录编号": ref,
                "类型": "户政",
                "业务": "身份证换领",
                "单位": "泺口派出所",
                "民警": "李警官",
                "警号": "105001",
                "群众电话": "139 0531 0001",
                "开始时间": "2026-11-20 09:00:00",
                "结束时间": "2026-11-20 09:20",
                "结果": "办结",
            },
            mapping=intake.DEFAULT_MAPPING,
            source=source,
            units=units,
            now=NOW,
        )
        for ref in refs
    ]


def test_rows_are_stored_with_every_field():
    assert intake.save_rows(rows(["W1", "W2"])) == (2, 0)
    record = ServiceRecord.objects.get(external_ref="W1")
    assert record.unit == Unit.objects.get(name="泺口派出所")
    assert (record.kind, record.citizen_phone, record.outcome) == ("household", "13905310001", "办结")
    assert record.started_at == dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
    assert record.ended_at == dt.datetime(2026, 11, 20, 9, 20, tzinfo=SHANGHAI)
    assert record.registered_at == NOW


def test_repeats_in_the_batch_and_in_the_table_are_counted_not_stored():
    assert intake.save_rows(rows(["W1", "W2", "W1"])) == (2, 1)
    assert intake.save_rows(rows(["W2", "W3"])) == (1, 1)
    assert intake.save_rows(rows(["W3"], source="other")) == (1, 0)
    assert ServiceRecord.objects.count() == 4


def test_a_row_stored_between_the_check_and_the_insert_is_skipped(monkeypatch):
    intake.save_rows(rows(["W1"]))
    # Where there is a look-up (not PostgreSQL), it misses W1, as it would when a concurrent import
    # stored it a moment later; the insert still skips it.
    real_filter = ServiceRecord.objects.filter
    monkeypatch.setattr(
        ServiceRecord.objects,
        "filter",
        lambda *a, **kw: real_filter(*a, **kw).none() if "external_ref__in" in kw else real_filter(*a, **kw),
    )
    inserted, already = intake.save_rows(rows(["W1", "W2"]))
    # PostgreSQL counts what the insert skipped; bulk_create(ignore_conflicts=True) cannot tell.
    assert (inserted, already) == ((1, 1) if connection.vendor == "postgresql" else (2, 0))
    assert sorted(ServiceRecord.objects.values_list("external_ref", flat=True)) == ["W1", "W2"]


def test_several_chunks_inside_one_transaction():
    with transaction.atomic():
        assert intake.save_rows(rows(["W1", "W2"])) == (2, 0)
        assert intake.save_rows(rows(["W3"])) == (1, 0)
    assert ServiceRecord.objects.count() == 3


def test_model_instances_still_save_in_bulk():
    built = intake.build(
        {"记录编号": "W9", "类型": "出入境", "单位": "泺口派出所", "开始时间": "2026-11-20 09:00"},
        mapping=intake.DEFAULT_MAPPING,
        source="s",
        units=intake.UnitIndex(),
        now=NOW,
    )
    assert built.unit.name == "泺口派出所"
    assert intake.save_many([built]) == (1, 0)
    assert ServiceRecord.objects.get(external_ref="W9").unit_id == built.unit.pk


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_stores_chunks_and_hands_over_a_failure():
    """Outside a transaction on PostgreSQL the chunks are stored by a second connection on a thread;
    elsewhere at once. Either way the totals are the same, and a failure reaches the caller."""
    from conftest import load_world

    load_world()
    writer = intake.ChunkWriter()
    assert (writer._thread is not None) == (connection.vendor == "postgresql")
    writer.write(rows(["W1", "W2", "W1"]))
    writer.write(rows(["W2", "W3"]))
    writer.write([])
    assert writer.close() == (3, 2)
    assert sorted(ServiceRecord.objects.values_list("external_ref", flat=True)) == ["W1", "W2", "W3"]


@pytest.mark.django_db(transaction=True)
def test_a_failure_of_the_writer_thread_reaches_the_caller():
    if connection.vendor != "postgresql":
        pytest.skip("the writer thread is PostgreSQL's (SQLite does not check lengths)")
    from conftest import load_world

    load_world()
    writer = intake.ChunkWriter()
    too_long = (*rows(["W4"])[0][:-2], "x" * 65, NOW)  # external_ref is at most 64 characters
    with pytest.raises(DataError):
        writer.write([too_long])
        writer.write(rows(["W5"]))
        writer.close()
    assert writer.close() == (0, 0)  # the failure was handed over once; the thread is gone
