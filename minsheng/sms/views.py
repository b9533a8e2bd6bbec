"""Kannel's callbacks (replies and delivery reports) and the phone simulator page for the demo.

The callbacks are called by the gateway, not by people: no session, no CSRF; instead the caller's
address must be in KANNEL_ALLOWED_IPS and the request must carry the shared secret (MO) or the
per-message signature (delivery reports). Errors answer the platform's JSON error shape.
"""

import urllib.parse

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from minsheng.accounts.models import Role
from minsheng.sms import delivery, inbound, signing
from minsheng.sms.choices import DlrType, InboundSource, MessageState
from minsheng.sms.models import InboundMessage, Message


def _error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _params(request) -> dict[str, str]:
    params = request.GET.dict()
    if request.method == "POST":
        params.update(request.POST.dict())
    return params


def _from_allowed_address(request) -> bool:
    # REMOTE_ADDR, not X-Forwarded-For: Kannel talks to the app directly (or through a proxy that
    # must then be the allowed address). A header the caller writes proves nothing.
    return signing.ip_allowed(request.META.get("REMOTE_ADDR", ""))


def _mo_text(request, params: dict[str, str]) -> str:
    """The reply's text. With ``mo-recode = true`` Kannel sends UTF-8; without it a Chinese reply comes
    as UTF-16BE bytes, which are recovered from the raw query string."""
    charset = (params.get("charset") or "").upper().replace("-", "")
    if charset in ("UTF16BE", "UCS2", "UTF16") and params.get("coding") == "2":
        raw = request.META.get("QUERY_STRING", "")
        values = urllib.parse.parse_qs(raw, encoding="latin-1", keep_blank_values=True).get("text", [""])
        return values[0].encode("latin-1").decode("utf-16-be", "replace")
    return params.get("text", "")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_mo(request):
    """An SMS from a citizen (Kannel's get-url): stored, opt-outs honoured, replies parsed."""
    if not _from_allowed_address(request):
        return _error(403, "forbidden", "来源地址不在短信网关允许列表中")
    params = _params(request)
    if not signing.valid_secret(params.get("k", "")):
        return _error(403, "forbidden", "短信网关密钥错误")
    phone = (params.get("from") or "").strip()
    if not phone:
        return _error(400, "invalid", "缺少发送号码", "from")
    inbound.receive(
        phone=phone,
        text=_mo_text(request, params),
        to=params.get("to", ""),
        source=InboundSource.KANNEL,
        external_id=params.get("id", ""),
    )
    # An empty body: with a non-zero max-messages Kannel would send any body back to the citizen.
    return HttpResponse("", content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_dlr(request):
    """A delivery report (Kannel's dlr-url), signed per message."""
    if not _from_allowed_address(request):
        return _error(403, "forbidden", "来源地址不在短信网关允许列表中")
    params = _params(request)
    dlr_id = params.get("id", "")
    if not signing.valid_signature(dlr_id, params.get("sig", "")):
        return _error(403, "forbidden", "回执签名错误")
    try:
        status = DlrType(int(params.get("type", "")))
    except ValueError:
        return _error(400, "invalid", "未知的回执类型", "type")
    try:
        attempt = int(params.get("a") or 0)
    except ValueError:
        attempt = 0
    report = delivery.apply_report(
        dlr_id,
        status,
        attempt=attempt,
        answer=params.get("answer", ""),
        gateway_id=params.get("kid", ""),
        smsc_id=params.get("fid", ""),
    )
    if report is None:
        return _error(404, "not_found", "没有对应的短信")
    return HttpResponse("", content_type="text/plain; charset=utf-8")


# --- the phone simulator (demo) ----------------------------------------------------------------------
SIMULATOR_ROLES = (Role.PLATFORM_ADMIN, Role.FOLLOWUP_AGENT, Role.DISPATCHER)


class ReplyForm(forms.Form):
    phone = forms.RegexField(
        label="手机号", regex=r"^1[3-9]\d{9}$", error_messages={"invalid": "请输入11位手机号"}
    )
    text = forms.CharField(
        label="以群众身份回复", max_length=500, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


def _require_simulator(request) -> None:
    # In production (a real gateway) the page does not exist: staff must not be able to answer for
    # citizens. It shows full phone numbers, so only platform-office roles that work with them.
    if not settings.SMS_SIMULATOR:
        raise Http404("手机模拟器未启用")
    if not request.user.has_role(*SIMULATOR_ROLES):
        raise PermissionDenied("只有平台办人员可以使用手机模拟器")


def conversation(phone: str) -> list[dict]:
    """What the phone received and what it sent, oldest first."""
    items = []
    received = Message.objects.filter(phone=phone, state__in=(MessageState.SENT, MessageState.DELIVERED))
    for message in received[:100]:
        items.append({"out": True, "at": message.sent_at or message.created_at, "m": message})
    for reply in InboundMessage.objects.filter(phone=phone)[:100]:
        items.append({"out": False, "at": reply.received_at, "m": reply})
    items.sort(key=lambda item: (item["at"], item["out"] is False))
    return items


@login_required
def simulator(request):
    _require_simulator(request)
    recent = (
        Message.objects.exclude(state=MessageState.CANCELLED)
        .values("phone")
        .annotate(last=Max("created_at"))
        .order_by("-last")[:40]
    )
    phones = [row["phone"] for row in recent]
    phone = request.GET.get("phone") or (phones[0] if phones else "")
    form = ReplyForm(initial={"phone": phone})
    context = {
        "phones": phones,
        "phone": phone,
        "items": conversation(phone) if phone else [],
        "form": form,
        "waiting": Message.objects.filter(state=MessageState.QUEUED).count(),
        "waiting_here": Message.objects.filter(phone=phone, state=MessageState.QUEUED).count()
        if phone
        else 0,
        "backend": settings.SMS_BACKEND,
    }
    if request.htmx and request.htmx.target == "conversation":
        return render(request, "sms/partials/conversation.html", context)
    return render(request, "sms/simulator.html", context)


@login_required
@require_POST
def simulator_reply(request):
    _require_simulator(request)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(
            reverse("sms-simulator") + "?" + urllib.parse.urlencode({"phone": request.POST.get("phone", "")})
        )
    reply = inbound.receive(
        phone=form.cleaned_data["phone"],
        text=form.cleaned_data["text"],
        to=settings.KANNEL_FROM,
        source=InboundSource.SIMULATOR,
    )
    messages.success(request, f"已以群众身份回复：{reply.get_status_display()}")
    return redirect(reverse("sms-simulator") + "?" + urllib.parse.urlencode({"phone": reply.phone}))


@login_required
@require_POST
def simulator_deliver(request):
    """Run the sender once now (the demo without a running worker)."""
    _require_simulator(request)
    from minsheng.sms.sender import Sender

    sender = Sender()
    try:
        stats = sender.run_until_idle(max_seconds=5)
    finally:
        sender.close()
    if stats.quiet:
        messages.info(request, "当前为免打扰时段，短信将在时段结束后发送")
    else:
        messages.success(request, f"已发送 {stats.sent} 条短信")
    return redirect(
        reverse("sms-simulator") + "?" + urllib.parse.urlencode({"phone": request.POST.get("phone", "")})
    )
