"""Admin pages of the intake: partners, the quarantine (待修复) with repair and re-processing, imports."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from minsheng.intake import service
from minsheng.intake.models import ImportBatch, Partner, PayloadStatus, RawPayload
from minsheng.intake.normalise import FieldError


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "channel", "key_id", "replay_window_s", "answer_on_receipt", "active"]
    readonly_fields = ["key_id"]


@admin.register(RawPayload)
class RawPayloadAdmin(admin.ModelAdmin):
    """The quarantine list: what could not be parsed, why, the original text, and a repair form."""

    list_display = [
        "id",
        "received_at",
        "channel",
        "transport",
        "source",
        "status",
        "error_field",
        "error",
        "appeal",
    ]
    list_filter = ["status", "channel", "transport"]
    search_fields = ["error", "source", "body_sha256"]
    readonly_fields = [
        "received_at",
        "channel",
        "transport",
        "source",
        "content_type",
        "headers",
        "original",
        "remote_addr",
        "status",
        "error",
        "error_field",
        "appeal",
        "processed_at",
        "attempts",
    ]
    exclude = ["body", "signature", "body_sha256"]
    actions = ["reprocess"]

    @admin.display(description="原始内容")
    def original(self, obj):
        return format_html(
            "<pre style='white-space:pre-wrap;max-height:30em;overflow:auto'>{}</pre>", obj.text[:20000]
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # nothing a citizen sent is ever deleted

    def save_model(self, request, obj, form, change):
        if "correction" in form.changed_data and obj.correction and obj.status == PayloadStatus.QUARANTINED:
            try:
                outcome = service.correct(obj, obj.correction, actor=request.user)
            except FieldError as error:
                messages.error(request, f"修正内容有误：{error}")
                return
            if outcome.status == "quarantined":
                messages.warning(request, f"仍无法受理：{outcome.error}")
            else:
                messages.success(request, f"已受理，工单 {outcome.appeal.case.number}")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="重新处理所选报文")
    def reprocess(self, request, queryset):
        done = 0
        for payload in queryset.filter(status__in=[PayloadStatus.PENDING, PayloadStatus.QUARANTINED]):
            if payload.status == PayloadStatus.QUARANTINED:
                RawPayload.objects.filter(pk=payload.pk).update(status=PayloadStatus.PENDING)
            if payload.transport in service.PARSERS:
                outcome = service.process_with_parser(
                    RawPayload.objects.get(pk=payload.pk), actor=request.user
                )
                done += outcome.status in ("created", "duplicate")
        messages.info(request, f"已受理 {done} 条")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "file_name",
        "channel",
        "started_at",
        "rows",
        "imported",
        "duplicates",
        "rejected",
        "rejection_file",
    ]
    list_filter = ["channel"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    @admin.display(description="拒收明细")
    def rejection_file(self, obj):
        if not obj.rejections:
            return "—"
        return format_html('<a href="{}">下载</a>', reverse("intake-rejections", args=[obj.pk]))

    def has_add_permission(self, request):
        return False
