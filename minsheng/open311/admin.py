from django.contrib import admin

from minsheng.open311.models import Open311Client


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    readonly_fields = ["created_at"]
