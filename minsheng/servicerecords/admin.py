from django.contrib import admin

from minsheng.servicerecords.models import ServiceRecord


@admin.register(ServiceRecord)
class ServiceRecordAdmin(admin.ModelAdmin):
    list_display = [
        "external_ref",
        "kind",
        "service_type",
        "unit",
        "officer_name",
        "masked_phone",
        "started_at",
    ]
    list_filter = ["kind"]
    search_fields = ["external_ref", "unit_text", "officer_name"]
    raw_id_fields = ["unit"]
    exclude = ["citizen_phone"]
