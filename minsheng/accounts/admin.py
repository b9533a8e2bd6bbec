from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from minsheng.accounts.models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ["unit"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "real_name", "police_number", "phone", "is_active", "is_system"]
    search_fields = ["username", "real_name", "police_number"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("实名信息", {"fields": ["real_name", "police_number", "phone", "is_system"]}),
    ]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role"]
    list_filter = ["role", "unit__level"]
    search_fields = ["user__real_name", "user__username", "unit__name"]
    raw_id_fields = ["user", "unit"]
