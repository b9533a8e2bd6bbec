from django.contrib import admin

from minsheng.followup.models import CallAttempt, FollowupRequest


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["agent", "at", "outcome", "answer", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FollowupRequest)
class FollowupRequestAdmin(admin.ModelAdmin):
    """Read-only: follow-ups change through the flow (SMS replies and the agents' page), never by hand."""

    list_display = [
        "id",
        "kind",
        "case",
        "service_record",
        "level",
        "round",
        "masked_phone",
        "appellant_role",
        "state",
        "reason",
        "answer",
        "created_at",
    ]
    list_select_related = ["case", "appeal", "service_record"]
    list_filter = ["kind", "state", "reason", "answer", "answered_via"]
    search_fields = ["case__number"]
    exclude = ["phone"]
    inlines = [CallAttemptInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "phone"] + ["masked_phone"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
