"""The "web" parser: re-reads a stored multipart form post of the chief's mailbox into an appeal.

Parsing from the stored bytes (not from the live request) is what lets a payload left pending by a
crash be processed later exactly as it arrived.
"""

import io

from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.test.client import RequestFactory

from minsheng.intake.normalise import FieldError
from minsheng.intake.service import AppealInput, parser


def split_form(body: bytes, content_type: str):
    """(fields, files) of a multipart/form-data body."""
    meta = RequestFactory().get("/").META
    meta.update(CONTENT_TYPE=content_type, CONTENT_LENGTH=str(len(body)))
    request = RequestFactory().get("/")
    try:
        return MultiPartParser(meta, io.BytesIO(body), request.upload_handlers, "utf-8").parse()
    except (MultiPartParserError, ValueError) as exc:
        raise FieldError("body", f"表单内容无法解析（{exc}）") from None


@parser("web")
def parse_mailbox(payload) -> AppealInput:
    fields, files = split_form(bytes(payload.body), payload.content_type)
    attachments = [(f.name, f.content_type or "", f.read()) for f in files.getlist("attachments")]
    return AppealInput(
        channel=payload.channel,
        title=fields.get("title", ""),
        content=fields.get("content", ""),
        appellant_name=fields.get("name", ""),
        appellant_phone=fields.get("phone", ""),
        address=fields.get("address", ""),
        consent_to_contact=fields.get("consent") in ("on", "true", "1"),
        attachments=attachments,
    )
