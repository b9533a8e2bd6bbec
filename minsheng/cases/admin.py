from django.contrib import admin

from minsheng.cases.models import Case, CaseEvent, ExtensionRequest


class EventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "actor_unit", "action", "from_state", "to_state", "note", "data"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the workbench actions so the timeline stays complete."""

    list_display = ["number", "title", "state", "responsible_unit", "registered_at"]
    list_filter = ["state", "channel"]
    search_fields = ["number", "title"]
    readonly_fields = [f.name for f in Case._meta.fields]
    inlines = [EventInline]

    def has_add_permission(self, request):
        return False


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(admin.ModelAdmin):
    list_display = ["case", "requested_by", "days", "state", "decided_by"]
    list_filter = ["state"]
    raw_id_fields = ["case", "requested_by", "decided_by"]
