"""Open311 service requests through the one intake service: the form as stored, parsed into an appeal.

The view stores the request body with ``store_raw`` first and then calls ``service.process`` with
``parse_open311``; the parser is also registered for the transport "open311" so that a payload left
pending by a crash is finished by the recovery task like any other.
"""

import math
import re
from urllib.parse import parse_qs, unquote_plus, urlsplit

from django.db.models import Exists, OuterRef

from minsheng.appeals.choices import Channel
from minsheng.categories.models import Category
from minsheng.intake.models import RawPayload
from minsheng.intake.normalise import FieldError
from minsheng.intake.service import AppealInput, parser

TRANSPORT = "open311"
FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 200

# Our field names (AppealInput, what ``clean`` names in its errors) → the Open311 parameter the client
# sent, so that a client is told about the parameter it knows.
OPEN311_NAMES = {
    "content": "description",
    "appellant_name": "first_name/last_name",
    "appellant_phone": "phone",
    "address": "address_string",
    "category_hint": "service_code",
    "external_ref": "external_ref",
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def leaf_categories():
    """The categories offered as Open311 services: active, and with no active category below them."""
    active_children = Category.objects.filter(parent=OuterRef("pk"), active=True)
    return (
        Category.objects.filter(active=True)
        .exclude(Exists(active_children))
        .select_related("parent")
        .order_by("sort_order", "code")
    )


def read_form(text: str) -> dict[str, str]:
    """The first value of each form parameter (GeoReport v2 sends each at most once)."""
    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise FieldError("body", f"参数过多（最多 {MAX_FIELDS} 个）") from None
    return {key: values[0] for key, values in pairs.items()}


def without_api_key(body: bytes) -> bytes:
    """The form body minus its ``api_key`` pair, every other byte as sent.

    The key is a bearer credential: kept in the payload store it would be readable by everyone who may
    read payloads, for as long as payloads are kept. The client is recorded as the payload's source.
    """
    pairs = body.split(b"&")
    kept = [p for p in pairs if unquote_plus(p.split(b"=", 1)[0].decode("latin-1")).strip() != "api_key"]
    return body if len(kept) == len(pairs) else b"&".join(kept)


def appellant_name(first: str, last: str) -> str:
    """Chinese names are written family name first, without a space; Latin names given name first."""
    first, last = first.strip(), last.strip()
    if _CJK.search(first + last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def _coordinate(form: dict, name: str, limit: float) -> float | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FieldError(name, f"“{text[:20]}”不是有效的坐标") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise FieldError(name, f"“{text[:20]}”超出范围（±{limit:g}）")
    return value


def location(form: dict) -> tuple[float | None, float | None]:
    """WGS84 latitude and longitude, both or neither."""
    lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (long is None):
        raise FieldError("long" if long is None else "lat", "lat 与 long 须同时提供")
    return lat, long


def media_url(form: dict) -> str:
    url = form.get("media_url", "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    # Published again in GET requests: only plain web links, never javascript: or data: URLs.
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise FieldError("media_url", "应为 http 或 https 链接")
    return url


def _service_code(form: dict) -> str:
    code = form.get("service_code", "").strip()
    if not code:
        raise FieldError("service_code", "不能为空")
    if not leaf_categories().filter(code=code).exists():
        raise FieldError("service_code", f"未知的服务代码“{code[:32]}”（见 services.json）")
    return code


@parser(TRANSPORT)
def parse_open311(payload: RawPayload) -> AppealInput:
    """A GeoReport v2 POST (form-encoded) as an appeal of the Open311 channel."""
    media_type = payload.content_type.split(";")[0].strip().lower()
    if media_type != FORM:
        raise FieldError("body", f"请求体应为 {FORM} 表单")
    form = read_form(payload.text)
    service_code = _service_code(form)
    description = form.get("description", "")
    if not description.strip():
        raise FieldError("description", "不能为空")
    lat, long = location(form)
    media_url(form)  # validated here so that what GET requests publishes later is a web link
    address = form.get("address_string", "").strip()
    if not address and lat is not None:
        address = f"经纬度 {lat:.6f},{long:.6f}（WGS84）"
    elif not address and form.get("address_id", "").strip():
        address = f"地址编号 {form['address_id'].strip()}"
    return AppealInput(
        channel=payload.channel or Channel.OPEN311,
        content=description,
        title="",
        appellant_name=appellant_name(form.get("first_name", ""), form.get("last_name", "")),
        appellant_phone=form.get("phone", ""),
        address=address,
        category_hint=service_code,
        # Not in GeoReport v2: a client may send its own id so that a retried POST is recognised.
        external_ref=form.get("external_ref", ""),
    )
