"""Nothing is lost: a crash after the raw payload is stored, quarantine repair and re-processing."""

import json

import pytest

from minsheng.appeals.models import Appeal
from minsheng.intake import service
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.tasks import GRACE, process_pending

pytestmark = pytest.mark.django_db(transaction=True)


class Crash(BaseException):
    """Stands for the process dying (SIGKILL, power cut): not an Exception any handler would catch."""


def stored(record: dict) -> RawPayload:
    return service.store_raw(
        channel="chief_mailbox",
        transport="json",
        source="web",
        body=json.dumps(record, ensure_ascii=False).encode(),
    )


def age(payload: RawPayload) -> None:
    RawPayload.objects.filter(pk=payload.pk).update(received_at=payload.received_at - GRACE * 2)


def test_a_crash_mid_processing_leaves_the_payload_and_a_restart_makes_exactly_one_appeal(world, monkeypatch):
    payload = stored({"content": "咨询出入境证件办理时间", "appellant_phone": "13905310000"})
    original = service.register

    def dying(*args, **kwargs):
        original(*args, **kwargs)  # the appeal is written inside the transaction …
        raise Crash  # … and the process dies before it commits

    monkeypatch.setattr(service, "register", dying)
    with pytest.raises(Crash):
        service.process_with_parser(payload)
    assert not Appeal.objects.exists()
    assert RawPayload.objects.get(pk=payload.pk).status == PayloadStatus.PENDING

    monkeypatch.setattr(service, "register", original)
    age(payload)
    assert process_pending.call() == 1
    assert process_pending.call() == 0
    assert Appeal.objects.count() == 1
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED and payload.appeal == Appeal.objects.get()


def test_a_quarantined_payload_is_corrected_and_processed(world):
    payload = stored({"content": "", "appellant_phone": "13905310000"})
    outcome = service.process_with_parser(payload)
    assert outcome.status == "quarantined" and outcome.error.field == "content"
    service.correct(payload, {"content": "补充：咨询居住证办理", "appellant_phone": "13905310000"})
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.appeal.content == "补充：咨询居住证办理"
    assert json.loads(bytes(payload.body))["content"] == ""


def test_a_payload_failing_every_time_does_not_block_others_and_ends_in_quarantine(world, monkeypatch):
    from minsheng.intake.tasks import MAX_ATTEMPTS

    bad = stored({"content": "这一件每次处理都出错", "appellant_phone": "13905310000"})
    good = stored({"content": "咨询居住证办理", "appellant_phone": "13905310001"})
    age(bad), age(good)
    original = service.register

    def failing(data, **kwargs):
        if "出错" in data.content:
            raise RuntimeError("数据库连接中断")
        return original(data, **kwargs)

    monkeypatch.setattr(service, "register", failing)
    assert process_pending.call() == 1  # the good one, despite the bad one before it
    assert RawPayload.objects.get(pk=good.pk).status == PayloadStatus.PROCESSED
    for _ in range(MAX_ATTEMPTS - 1):
        process_pending.call()
    bad.refresh_from_db()
    assert bad.attempts == MAX_ATTEMPTS
    assert bad.status == PayloadStatus.QUARANTINED and "数据库连接中断" in bad.error
    assert process_pending.call() == 0 and RawPayload.objects.get(pk=bad.pk).attempts == MAX_ATTEMPTS
