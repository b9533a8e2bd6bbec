"""Partner push endpoints: 12345 and discipline-hotline work orders, 110 and window service records."""

from django.db import IntegrityError, connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from minsheng.appeals.models import Appeal
from minsheng.intake import partners, service, signing
from minsheng.intake.models import PayloadStatus
from minsheng.intake.normalise import FieldError

SIGNATURE_PARAMETERS = [
    OpenApiParameter(signing.KEY_HEADER, str, OpenApiParameter.HEADER, required=True, description="密钥编号"),
    OpenApiParameter(
        signing.TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True, description="Unix 秒"
    ),
    OpenApiParameter(
        signing.SIGNATURE_HEADER,
        str,
        OpenApiParameter.HEADER,
        required=True,
        description='hex(HMAC-SHA256(secret, timestamp + "\\n" + body))',
    ),
]


def push_schema(summary: str, description: str):
    """The OpenAPI description every signed push endpoint shares: signature headers, a JSON object in,
    and the answers of ``PartnerPushView.post``."""
    return extend_schema(
        summary=summary,
        description=description,
        parameters=SIGNATURE_PARAMETERS,
        request={"application/json": OpenApiTypes.OBJECT},
        responses={status: OpenApiTypes.OBJECT for status in (201, 202, 200, 400, 401, 404, 409)},
        auth=[],
    )


def request_meta(request) -> dict:
    """What is stored with a pushed payload besides its bytes: the sender's address, the content type
    and the headers that say what the body is (``X-…``, ``Content-…``)."""
    return {
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "content_type": request.content_type or "",
        "headers": {k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-"))},
    }


class RawBodyParser(BaseParser):
    """Keeps the body as bytes: the signature is over the exact bytes, and they are stored as sent."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream else b""


class PartnerPushView(APIView):
    """Base of the signed push endpoints: store raw, verify, then hand over to the channel's processing.

    A partner with ``answer_on_receipt`` is answered once the payload is committed and has passed the
    cheap checks (``acknowledge``), with its processing queued in the same transaction as the payload;
    endpoints whose processing is cheap anyway (``answers_on_receipt = False``) always answer in full.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]
    kind = "appeal"
    answers_on_receipt = False

    def post(self, request, code):
        status, answer = self.receive(code, request.body, request.headers, request_meta(request))
        return Response(answer, status=status)

    def receive(self, code: str, body: bytes, headers, meta: dict) -> tuple[int, dict]:
        """The answer to a push of ``body`` to partner ``code``: (HTTP status, JSON object). Shared by
        ``post`` and the WSGI fast path (``intake.fastpath``), so that both answer alike."""
        partner = partners.get(code)
        if partner is None:
            service.store_raw(
                channel="unknown",
                transport="push",
                body=body,
                source=code[:64],
                status=PayloadStatus.REJECTED,
                error="未知的对接系统",
                **meta,
            )
            return 404, {"code": "unknown_partner", "message": f"未知的对接系统“{code}”"}
        try:
            signature = signing.verify(partner, headers, body)
        except signing.SignatureError as error:
            service.store_raw(
                channel=partner.channel,
                transport="push",
                body=body,
                source=partner.code,
                status=PayloadStatus.REJECTED,
                error=error.message,
                **meta,
            )
            return error.status, {"code": error.code, "message": error.message}
        on_receipt = self.answers_on_receipt and partner.answer_on_receipt
        try:
            payload = service.store_raw(
                channel=partner.channel,
                transport=self.transport,
                body=body,
                source=partner.code,
                signature=signature,
                then=self.queue if on_receipt and self.queue_due() else None,
                **meta,
            )
        except IntegrityError:
            service.store_raw(
                channel=partner.channel,
                transport="push",
                body=body,
                source=partner.code,
                status=PayloadStatus.REJECTED,
                error="重放的请求（签名已使用过）",
                **meta,
            )
            return 409, {"code": "replayed", "message": "该请求已收到过（签名重复），已拒收"}
        outcome = self.acknowledge(payload) if on_receipt else self.handle_payload(payload)
        status = {"created": 201, "accepted": 202, "duplicate": 200, "quarantined": 400}[outcome.status]
        return status, outcome.as_dict()

    def queue_due(self) -> bool:
        raise NotImplementedError

    def queue(self, payload):
        raise NotImplementedError

    def acknowledge(self, payload):
        raise NotImplementedError


def _appeal_exists(source: str, ref: str) -> bool:
    """``Appeal.objects.filter(external_source=…, external_ref=…).exists()`` without building the
    query each time (a fifth of an answer on receipt's CPU): the partial unique index
    ``appeal_external_ref_unique`` answers it."""
    table = connection.ops.quote_name(Appeal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE external_source = %s AND external_ref = %s LIMIT 1",  # noqa: S608
            [source, ref],
        )
        return cursor.fetchone() is not None


class WorkOrderPushView(PartnerPushView):
    transport = "push"
    answers_on_receipt = True

    def handle_payload(self, payload):
        return service.process_with_parser(payload)

    def queue_due(self) -> bool:
        from minsheng.intake.tasks import queue_due

        return queue_due()

    def queue(self, payload):
        """Runs inside the transaction that stores the payload: both are committed, or neither."""
        from minsheng.intake.tasks import queue_received

        queue_received(payload)

    def acknowledge(self, payload):
        """The answer on receipt: what the partner must know at once is answered as it would be in
        full — a work order already received (200, the existing appeal) and a bad field (400, the
        payload quarantined) — by processing the payload now, which costs little in those two cases;
        anything else is 202 and the queued task registers it (the task finds a payload settled here
        already and leaves it). The look-up uses the unique index on (external_source, external_ref);
        ``process`` checks again under its lock, so a race still makes one appeal."""
        try:
            data = service.clean(service.parse_push(payload))
        except FieldError:
            return self.handle_payload(payload)
        if data.external_ref and _appeal_exists(payload.source, data.external_ref):
            return self.handle_payload(payload)
        return service.Outcome("accepted", payload)

    @push_schema(
        "推送工单（12345、纪委热线）",
        "请求体为对方系统的 JSON 工单，字段名按该对接系统的字段映射读取（默认：工单编号、来电时间、"
        "来电人、来电号码、诉求内容、诉求地址、诉求类型、办理时限）。同一工单编号重复推送返回 200 与已有编号。"
        "对接系统设为“收妥即答复”时，保存并校验后即返回 202（status=accepted、payload_id），由后台受理。",
    )
    def post(self, request, code):
        return super().post(request, code)
