from django.contrib import admin

from minsheng.appeals.models import Appeal, AppealAttachment


class AttachmentInline(admin.TabularInline):
    model = AppealAttachment
    extra = 0


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "received_at", "masked_phone", "case", "link_kind"]
    list_filter = ["channel", "link_kind"]
    search_fields = ["content", "external_ref", "case__number"]
    raw_id_fields = ["case", "registered_by", "district", "township", "community", "category"]
    exclude = ["appellant_phone", "appellant_id_number"]
    inlines = [AttachmentInline]
