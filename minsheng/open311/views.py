"""The GeoReport v2 endpoints: discovery, services, service definitions, requests and tokens.

Reading is public and shows only what a city publishes about a reported problem: never who reported
it (name, phone, email), and only for appeals that came in through Open311, so that citizens who used
the hotline or the chief's mailbox are not exposed by a door they never used. Writing needs an api key
and goes through the one intake service: raw body stored first, then parsed and registered.
"""

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import Q
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from minsheng.appeals.choices import Channel
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import CaseState
from minsheng.core import clock
from minsheng.core.masking import mask_id_number, mask_phone
from minsheng.intake import service
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.normalise import SHANGHAI, FieldError
from minsheng.open311 import intake
from minsheng.open311.models import Open311Client, Open311Request
from minsheng.open311.renderers import error, render

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this interface last changed in a way clients should notice (discovery's "changeset").
CHANGESET = "2026-11-27T00:00:00+08:00"
# One jurisdiction per installation; the default is Jinan's administrative division code.
JURISDICTION_ID = getattr(settings, "OPEN311_JURISDICTION_ID", "370100")
CONTACT = getattr(settings, "OPEN311_CONTACT", "济南市公安局民生警务平台办公室（接口问题请联系平台办公室）")
KEY_SERVICE = getattr(
    settings, "OPEN311_KEY_SERVICE", "提交诉求需要接入密钥（api_key），请向民生警务平台办公室申请。"
)
MAX_REQUESTS = 1000
MAX_SPAN = dt.timedelta(days=90)
MAX_DESCRIPTION = 4000  # request.json: description maxLength


# --- plumbing -----------------------------------------------------------------------------------------


def _refuse(request, fmt: str, methods: tuple[str, ...]):
    """The spec's error for a wrong method or an unknown jurisdiction, or None when the request may go on."""
    if request.method not in methods:
        return error(fmt, 405, f"不支持 {request.method} 方法", Allow=", ".join(methods))
    jurisdiction = request.GET.get("jurisdiction_id", "").strip()
    if jurisdiction and jurisdiction != JURISDICTION_ID:
        return error(fmt, 404, f"未知的 jurisdiction_id“{jurisdiction[:32]}”（本平台为 {JURISDICTION_ID}）")
    return None


def _iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in Beijing time with its offset (2026-11-27T09:12:00+08:00)."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def notice(category) -> str:
    """What the citizen can expect, from the category's completion deadline."""
    if category is None:
        return "已受理，将尽快办理并答复。"
    return f"已受理，一般在 {category.deadline_days} 个工作日内办结并答复。"


_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<![\d-])0\d{2,3}-\d{7,8}(?!\d)")


def public_text(text: str) -> str:
    """The citizen's description as published: ID and phone numbers typed into it are masked."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group()), text)
    return text[:MAX_DESCRIPTION]


# --- discovery and services ---------------------------------------------------------------------------


def discovery(request, fmt):
    if refused := _refuse(request, fmt, ("GET", "HEAD")):
        return refused
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt}))
    data = {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base.rsplit("/", 1)[0],
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(data, fmt, root="discovery")


def service_item(category) -> dict:
    parent = category.parent.name if category.parent_id else None
    kind = category.get_kind_display()
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category}（{kind}，一般 {category.deadline_days} 个工作日内办结）",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(k for k in (parent, category.name, kind) if k),
        "group": parent,
    }


def services(request, fmt):
    if refused := _refuse(request, fmt, ("GET", "HEAD")):
        return refused
    items = [service_item(c) for c in intake.leaf_categories()]
    return render(items, fmt, root="services", item="service")


def service_definition(request, fmt, code):
    if refused := _refuse(request, fmt, ("GET", "HEAD")):
        return refused
    if not intake.leaf_categories().filter(code=code).exists():
        return error(fmt, 404, f"未知的服务代码“{code[:32]}”")
    # No extra attributes: the description and the location say all a police appeal needs.
    return render({"service_code": code, "attributes": []}, fmt, root="service_definition")


# --- requests -----------------------------------------------------------------------------------------


def _public_appeals():
    # Published: what came in through Open311 and got its public id there (never the tracking code).
    return Appeal.objects.filter(channel=Channel.OPEN311, open311__isnull=False).select_related(
        "open311", "category", "case", "case__category", "case__responsible_unit"
    )


def _extras(appeals) -> dict[int, dict]:
    """Location and media as the client sent them (kept in the stored request, not on the appeal)."""
    payloads = (
        RawPayload.objects.filter(appeal__in=appeals, transport=intake.TRANSPORT)
        .exclude(status=PayloadStatus.REJECTED)
        .order_by("received_at", "pk")
        .only("appeal_id", "body")
    )
    extras: dict[int, dict] = {}
    for payload in payloads:
        if payload.appeal_id in extras:
            continue  # the first request made the appeal; a repeat adds nothing to publish
        try:
            form = intake.read_form(payload.text)
            lat, long = intake.location(form)
            media = intake.media_url(form)
        except FieldError:
            # Repaired by an admin after quarantine: what was sent is not fit to publish.
            form, lat, long, media = {}, None, None, ""
        extras[payload.appeal_id] = {
            "address_id": form.get("address_id", "").strip() or None,
            "lat": lat,
            "long": long,
            "media_url": media or None,
        }
    return extras


def request_item(appeal: Appeal, extra: dict) -> dict:
    """One appeal as a GeoReport v2 request. Deliberately without name, phone, email or ID number."""
    case = appeal.case
    category = (case.category if case and case.category_id else None) or appeal.category
    closed = case is not None and case.state == CaseState.CLOSED
    updated = (case.closed_at if closed and case.closed_at else case.updated_at) if case else None
    return {
        "service_request_id": appeal.open311.request_id,
        "status": "closed" if closed else "open",
        "status_notes": case.get_state_display() if case else None,
        "service_name": category.name if category else None,
        "service_code": category.code if category else "",
        "description": public_text(appeal.content),
        "agency_responsible": case.responsible_unit.name if case and case.responsible_unit_id else None,
        "service_notice": notice(category),
        "requested_datetime": _iso(appeal.received_at),
        "updated_datetime": _iso(updated or appeal.registered_at),
        "expected_datetime": _iso(case.complete_due_at if case else None),
        "address": appeal.address or None,
        "address_id": extra.get("address_id"),
        "zipcode": None,
        "lat": extra.get("lat"),
        "long": extra.get("long"),
        "media_url": extra.get("media_url"),
    }


def _render_requests(appeals, fmt):
    appeals = list(appeals)
    extras = _extras(appeals)
    items = [request_item(a, extras.get(a.pk, {})) for a in appeals]
    return render(items, fmt, root="service_requests", item="request")


class BadQuery(ValueError):
    pass


def _moment(request, name: str) -> dt.datetime | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    # An unencoded "+08:00" in a query string arrives as " 08:00".
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} 不是有效的 ISO 8601 时间（如 2026-11-27T09:00:00+08:00）") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _filtered(request):
    """The query of GET requests: ids override everything; otherwise at most 90 days, newest first."""
    appeals = _public_appeals()
    ids = _split(request.GET.get("service_request_id", ""))
    if ids:
        return appeals.filter(open311__request_id__in=ids[:MAX_REQUESTS]).order_by("-received_at")
    codes = _split(request.GET.get("service_code", ""))
    if codes:
        appeals = appeals.filter(
            Q(case__category__code__in=codes) | Q(case__category__isnull=True, category__code__in=codes)
        )
    statuses = set(_split(request.GET.get("status", "")))
    if statuses - {"open", "closed"}:
        raise BadQuery("status 只能是 open 或 closed")
    if statuses == {"closed"}:
        appeals = appeals.filter(case__state=CaseState.CLOSED)
    elif statuses == {"open"}:
        appeals = appeals.exclude(case__state=CaseState.CLOSED)
    start, end = _moment(request, "start_date"), _moment(request, "end_date")
    if start and end:
        if start > end:
            raise BadQuery("start_date 晚于 end_date")
        if end - start > MAX_SPAN:
            raise BadQuery("start_date 与 end_date 的间隔不能超过 90 天")
    elif start:
        end = start + MAX_SPAN
    elif end:
        start = end - MAX_SPAN
    else:
        start = clock.now() - MAX_SPAN
    appeals = appeals.filter(received_at__gte=start)
    if end:
        appeals = appeals.filter(received_at__lte=end)
    return appeals.order_by("-received_at")[:MAX_REQUESTS]


@csrf_exempt
def requests(request, fmt):
    """GET: the published requests. POST: a new service request, authenticated by its api key."""
    if request.method == "POST":
        return submit(request, fmt)
    if refused := _refuse(request, fmt, ("GET", "HEAD", "POST")):
        return refused
    try:
        appeals = _filtered(request)
    except BadQuery as exc:
        return error(fmt, 400, str(exc))
    return _render_requests(appeals, fmt)


def request_detail(request, fmt, request_id):
    if refused := _refuse(request, fmt, ("GET", "HEAD")):
        return refused
    appeals = _public_appeals().filter(open311__request_id=request_id)
    if not appeals:
        return error(fmt, 404, f"未找到编号为“{request_id[:32]}”的诉求")
    return _render_requests(appeals, fmt)


def token(request, fmt, token):
    """We answer POST synchronously with the id itself, so a token is the id (kept for clients that ask)."""
    if refused := _refuse(request, fmt, ("GET", "HEAD")):
        return refused
    if not _public_appeals().filter(open311__request_id=token).exists():
        return error(fmt, 404, f"未找到令牌“{token[:32]}”")
    return render(
        [{"service_request_id": token, "token": token}], fmt, root="service_requests", item="request"
    )


def submit(request, fmt):
    """POST requests: store what arrived, check the key, then the intake service parses and registers."""
    body = request.body  # read first: afterwards Django parses the form from these same bytes
    try:
        form = request.POST
    except (SuspiciousOperation, MultiPartParserError):
        form = QueryDict()
    meta = {
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "content_type": request.META.get("CONTENT_TYPE", ""),
        "headers": {k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-"))},
    }
    if meta["content_type"].split(";")[0].strip().lower() == intake.FORM:
        body = intake.without_api_key(body)
    api_key = (form.get("api_key") or request.GET.get("api_key") or "").strip()
    client = Open311Client.objects.filter(api_key=api_key, active=True).first() if api_key else None

    def reject(status: int, message: str, source: str):
        service.store_raw(
            channel=Channel.OPEN311,
            transport=intake.TRANSPORT,
            body=body,
            source=source,
            status=PayloadStatus.REJECTED,
            error=message,
            **meta,
        )
        return error(fmt, status, message)

    if client is None:
        return reject(403, "api_key 无效或已停用" if api_key else "缺少 api_key", "open311:unknown")
    jurisdiction = (form.get("jurisdiction_id") or request.GET.get("jurisdiction_id") or "").strip()
    if jurisdiction and jurisdiction != JURISDICTION_ID:
        return reject(404, f"未知的 jurisdiction_id“{jurisdiction[:32]}”", client.source)

    payload = service.store_raw(
        channel=Channel.OPEN311, transport=intake.TRANSPORT, body=body, source=client.source, **meta
    )
    outcome = service.process(payload.pk, intake.parse_open311)
    if outcome.appeal is None:
        field = outcome.error.field if outcome.error else "body"
        message = outcome.error.message if outcome.error else "无法受理"
        name = intake.OPEN311_NAMES.get(field, field)
        return error(fmt, 400, f"{name}：{message}（请求已留存，编号 {payload.pk}）")
    appeal = outcome.appeal
    category = appeal.case.category if appeal.case_id and appeal.case.category_id else appeal.category
    # Made with the appeal (signals); get_or_create covers an Open311 appeal older than this app.
    public_id = Open311Request.objects.get_or_create(appeal=appeal)[0].request_id
    data = [{"service_request_id": public_id, "service_notice": notice(category), "account_id": None}]
    return render(data, fmt, root="service_requests", item="request")


def not_found(request, fmt=None):
    """Any other path or extension under /open311/v2/: the spec's 404 (XML if that was asked for)."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error(fmt, 404, "没有这个接口（支持 discovery、services、requests、tokens，格式 .json 或 .xml）")
