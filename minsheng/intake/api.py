"""Partner push endpoints: 12345 and discipline-hotline work orders, 110 and window service records."""

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from minsheng.intake import service, signing
from minsheng.intake.models import Partner, PayloadStatus

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
        responses={status: OpenApiTypes.OBJECT for status in (201, 200, 400, 401, 404, 409)},
        auth=[],
    )


class RawBodyParser(BaseParser):
    """Keeps the body as bytes: the signature is over the exact bytes, and they are stored as sent."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream else b""


class PartnerPushView(APIView):
    """Base of the signed push endpoints: store raw, verify, then hand over to the channel's processing."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]
    kind = "appeal"

    def post(self, request, code):
        body = request.body
        partner = Partner.objects.filter(code=code, active=True).first()
        meta = {
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "content_type": request.content_type or "",
            "headers": {k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-"))},
        }
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
            return Response({"code": "unknown_partner", "message": f"未知的对接系统“{code}”"}, status=404)
        try:
            signature = signing.verify(partner, request.headers, body)
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
            return Response({"code": error.code, "message": error.message}, status=error.status)
        try:
            payload = service.store_raw(
                channel=partner.channel,
                transport=self.transport,
                body=body,
                source=partner.code,
                signature=signature,
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
            return Response({"code": "replayed", "message": "该请求已收到过（签名重复），已拒收"}, status=409)
        outcome = self.handle_payload(payload)
        status = {"created": 201, "duplicate": 200, "quarantined": 400}[outcome.status]
        return Response(outcome.as_dict(), status=status)


class WorkOrderPushView(PartnerPushView):
    transport = "push"

    def handle_payload(self, payload):
        return service.process_with_parser(payload)

    @push_schema(
        "推送工单（12345、纪委热线）",
        "请求体为对方系统的 JSON 工单，字段名按该对接系统的字段映射读取（默认：工单编号、来电时间、"
        "来电人、来电号码、诉求内容、诉求地址、诉求类型、办理时限）。同一工单编号重复推送返回 200 与已有编号。",
    )
    def post(self, request, code):
        return super().post(request, code)
