from django.contrib import admin

from minsheng.categories.models import Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "parent",
        "kind",
        "handler_function",
        "completion_days",
        "followup_required",
        "active",
    ]
    list_filter = ["kind", "active", "followup_required"]
    list_editable = ["completion_days", "followup_required", "active"]
    search_fields = ["code", "name"]
