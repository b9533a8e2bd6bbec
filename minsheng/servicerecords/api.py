"""Push endpoint for 110 dispatch records and service-window transactions."""

import json

from minsheng.intake.api import PartnerPushView, push_schema
from minsheng.intake.models import Partner, PayloadStatus
from minsheng.intake.normalise import FieldError
from minsheng.intake.service import Outcome
from minsheng.servicerecords import intake


class ServiceRecordOutcome(Outcome):
    def __init__(self, status, payload, record=None, error=None):
        super().__init__(status, payload, error=error)
        self.record = record

    def as_dict(self) -> dict:
        body = super().as_dict()
        if self.record is not None:
            body["service_record_id"] = self.record.pk
        return body


class ServiceRecordPushView(PartnerPushView):
    transport = "push_service"

    def handle_payload(self, payload):
        partner = Partner.objects.get(code=payload.source)
        mapping = {**intake.DEFAULT_MAPPING, **(partner.mapping or {})}
        default_kind = "police_110" if partner.channel == "police_110" else ""
        try:
            try:
                record_data = json.loads(payload.text)
            except ValueError:
                raise FieldError("body", "不是有效的 JSON") from None
            record = intake.build(
                record_data,
                mapping=mapping,
                source=partner.code,
                units=intake.UnitIndex(),
                now=intake.now(),
                default_kind=default_kind,
            )
        except FieldError as error:
            payload.status, payload.error, payload.error_field = (
                PayloadStatus.QUARANTINED,
                error.message,
                error.field,
            )
            payload.save(update_fields=["status", "error", "error_field"])
            return ServiceRecordOutcome("quarantined", payload, error=error)
        status, record = intake.save_one(record)
        payload.status = PayloadStatus.PROCESSED if status == "created" else PayloadStatus.DUPLICATE
        payload.processed_at = intake.now()
        payload.save(update_fields=["status", "processed_at"])
        return ServiceRecordOutcome(status, payload, record=record)

    @push_schema(
        "推送服务记录（110接处警、窗口业务）",
        "默认字段：记录编号、类型（110/户政/出入境/车管/驾管/交管）、业务、单位、民警、警号、群众电话、开始时间、"
        "结束时间、结果。同一记录编号重复推送返回 200。",
    )
    def post(self, request, code):
        return super().post(request, code)
