from django.contrib import admin

from minsheng.divisions.models import Division


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "short_name", "level", "kind", "parent"]
    list_filter = ["level", "kind"]
    search_fields = ["code", "name", "short_name"]
    raw_id_fields = ["parent"]
