"""Admin pages: editable SMS texts with variables and a preview; the outbox, replies and opt-outs to read."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from minsheng.sms import texts
from minsheng.sms.choices import Encoding
from minsheng.sms.models import DeliveryReport, InboundMessage, Message, OptOut, SmsTemplate


class SmsTemplateForm(forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = ["key", "name", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "key" in self.fields:
            self.fields["key"] = forms.ChoiceField(
                label="代码", choices=[(k, f"{k}（{s.name}）") for k, s in sorted(texts.REGISTRY.items())]
            )

    def clean(self):
        data = super().clean()
        key = data.get("key") or (self.instance.key if self.instance.pk else None)
        spec = texts.REGISTRY.get(key or "")
        if spec is None:
            raise forms.ValidationError("没有这个代码的短信（代码由系统定义）")
        for problem in texts.errors(data.get("body") or "", spec):
            self.add_error("body", problem)
        return data


def variables_help(spec: texts.TextSpec) -> str:
    return format_html(
        "<ul>{}</ul>", format_html_join("", "<li><code>{{{}}}</code>：{}</li>", spec.variables.items())
    )


def preview_html(key: str, body: str) -> str:
    spec = texts.REGISTRY.get(key)
    if spec is None:
        return "—"
    problems = texts.errors(body, spec)
    if problems:
        return format_html('<p class="errornote">{}</p>', "；".join(problems))
    shown = texts.preview(key, body)
    seg = shown.segmentation
    return format_html(
        '<div style="max-width:36em;white-space:pre-wrap;border:1px solid #ccc;padding:.6em;border-radius:6px">{}</div>'
        "<p>{} 字，{}，计 <strong>{}</strong> 条短信（每条 {} 字）</p>",
        shown.text,
        seg.length,
        Encoding(seg.encoding).label,
        seg.segments,
        seg.per_part,
    )


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    form = SmsTemplateForm
    list_display = ["key", "name", "active", "updated_at", "updated_by"]
    readonly_fields = ["variables", "preview", "updated_at", "updated_by"]
    change_form_template = "admin/sms/smstemplate/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # The code is what the platform looks the text up by: fixed once the row exists.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields

    @admin.display(description="可用变量")
    def variables(self, obj):
        spec = texts.REGISTRY.get(obj.key) if obj and obj.key else None
        return variables_help(spec) if spec else "保存前请选择代码"

    @admin.display(description="预览（示例数据）")
    def preview(self, obj):
        if not obj or not obj.key:
            return "—"
        return preview_html(obj.key, obj.body)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="sms_smstemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        """The text being edited, rendered with sample values, before it is saved."""
        template = get_object_or_404(SmsTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        body = request.POST.get("body", template.body) if request.method == "POST" else template.body
        context = {
            **self.admin_site.each_context(request),
            "title": f"预览：{template.name}",
            "template_obj": template,
            "preview": preview_html(template.key, body),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sms/smstemplate/preview.html", context)


class DeliveryReportInline(admin.TabularInline):
    model = DeliveryReport
    extra = 0
    can_delete = False
    fields = ["received_at", "status", "attempt", "answer", "gateway_id", "smsc_id"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The outbox, read-only: what went out, when, how it ended. Phones masked."""

    list_display = [
        "id",
        "masked_phone",
        "purpose",
        "state",
        "segments",
        "attempts",
        "created_at",
        "sent_at",
        "ref",
    ]
    list_filter = ["state", "purpose", "backend", "deferred_reason"]
    search_fields = ["ref", "dlr_id", "gateway_id"]
    exclude = ["phone", "claim_token"]
    inlines = [DeliveryReportInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("phone", "claim_token")] + [
            "masked_phone"
        ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "masked_phone", "text", "source", "status", "opt_out", "handled_by"]
    list_filter = ["status", "source", "opt_out"]
    exclude = ["phone"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "phone"] + ["masked_phone"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """Numbers that asked for no more SMS. Deleting a row re-subscribes the number (on its request)."""

    list_display = ["__str__", "at", "source", "note"]
    list_filter = ["source"]
    search_fields = ["phone"]
    readonly_fields = ["inbound"]
