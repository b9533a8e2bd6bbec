"""Citizen pages: the chief's mailbox, its confirmation, and progress look-up by tracking code."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from minsheng.appeals.models import Appeal
from minsheng.cases.choices import CaseState
from minsheng.intake import service
from minsheng.intake.models import PayloadStatus
from minsheng.public import ratelimit
from minsheng.public.forms import MAX_FILE_BYTES, MAX_FILES, MailboxForm
from minsheng.public.parsing import split_form

MAX_BODY = MAX_FILES * MAX_FILE_BYTES + 256 * 1024
IP_LIMIT = (10, 3600)  # submissions per IP per hour
PHONE_LIMIT = (3, 86400)  # submissions per phone per day

PUBLIC_STATE = {
    CaseState.REGISTERED: "已受理，正在分派",
    CaseState.RETURNED: "已受理，正在分派",
    CaseState.DISPATCHED: "已转办理单位",
    CaseState.IN_PROGRESS: "办理中",
    CaseState.COMPLETED: "已办结，待回访",
    CaseState.INVESTIGATING: "核查中",
    CaseState.CLOSED: "已办结",
}


def index(request):
    return render(request, "public/index.html")


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


@csrf_protect
@require_http_methods(["GET", "POST"])
def mailbox(request):
    if request.method == "GET":
        return render(request, "public/mailbox.html", {"form": MailboxForm()})
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        return render(
            request,
            "public/mailbox.html",
            {"form": MailboxForm(), "error": f"提交内容过大（超过 {MAX_BODY // 1048576} MB），请减少附件"},
            status=413,
        )
    # The body is read and stored as it came before anything parses it.
    body = request.read()
    content_type = request.META.get("CONTENT_TYPE", "")
    meta = {
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "source": "web",
        "headers": {"user_agent": request.headers.get("User-Agent", "")[:300]},
    }
    payload = service.store_raw(
        channel="chief_mailbox", transport="web", body=body, content_type=content_type, **meta
    )
    fields, files = split_form(body, content_type) if "multipart/form-data" in content_type else ({}, {})
    form = MailboxForm(fields, files, files_list=files.getlist("attachments") if files else [])
    if form.is_bot:
        _reject(payload, "疑似机器人（隐藏字段被填写）")
        return render(request, "public/received.html", {"appeal": None})
    if not ratelimit.allow(f"ip:{_client_ip(request)}", limit=IP_LIMIT[0], window_s=IP_LIMIT[1]):
        _reject(payload, "同一地址提交过于频繁")
        return render(
            request,
            "public/mailbox.html",
            {"form": form, "error": "提交过于频繁，请一小时后再试"},
            status=429,
        )
    if not form.is_valid():
        _reject(payload, "；".join(f"{k}：{'；'.join(v)}" for k, v in form.errors.items()))
        return render(request, "public/mailbox.html", {"form": form}, status=400)
    if not ratelimit.allow(
        f"phone:{form.cleaned_data['phone']}", limit=PHONE_LIMIT[0], window_s=PHONE_LIMIT[1]
    ):
        _reject(payload, "同一号码当日提交过多")
        return render(
            request,
            "public/mailbox.html",
            {"form": form, "error": "该手机号今日已提交多次，请耐心等待办理或拨打12345"},
            status=429,
        )
    outcome = service.process_with_parser(payload)
    if outcome.appeal is None:
        return render(
            request, "public/mailbox.html", {"form": form, "error": outcome.error.message}, status=400
        )
    return redirect("public-received", code=outcome.appeal.tracking_code)


def _reject(payload, reason: str) -> None:
    # Kept, not deleted: a rejected submission can still be read by the platform office.
    payload.status, payload.error = PayloadStatus.REJECTED, reason[:2000]
    payload.save(update_fields=["status", "error"])


def received(request, code):
    appeal = Appeal.objects.filter(tracking_code=code).select_related("case").first()
    if appeal is None:
        raise Http404
    return render(request, "public/received.html", {"appeal": appeal})


def track(request):
    code = (request.GET.get("code") or "").strip()
    appeal = Appeal.objects.filter(tracking_code=code).select_related("case").first() if code else None
    context = {"code": code, "appeal": appeal}
    if appeal and appeal.case_id:
        case = appeal.case
        context["status"] = PUBLIC_STATE[CaseState(case.state)]
        context["reply"] = case.reply if case.state in (CaseState.COMPLETED, CaseState.CLOSED) else ""
    return render(request, "public/track.html", context, status=200 if appeal or not code else 404)
