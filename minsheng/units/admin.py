from django.contrib import admin

from minsheng.accounts.models import Membership
from minsheng.units.models import Unit


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "full_name", "type", "function", "level", "parent", "derived", "active"]
    list_filter = ["level", "type", "function", "derived", "active"]
    search_fields = ["name", "full_name"]
    raw_id_fields = ["parent"]
    filter_horizontal = ["jurisdictions"]
    readonly_fields = ["level", "path", "source"]
    inlines = [MembershipInline]
