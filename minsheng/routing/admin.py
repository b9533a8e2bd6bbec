from django.contrib import admin

from minsheng.routing.models import PlaceAlias, RoutingObservation, RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "division", "unit", "priority", "active", "note"]
    list_filter = ["active"]
    raw_id_fields = ["division", "unit"]


@admin.register(PlaceAlias)
class PlaceAliasAdmin(admin.ModelAdmin):
    list_display = ["name", "division", "support", "manual"]
    search_fields = ["name"]
    raw_id_fields = ["division"]


@admin.register(RoutingObservation)
class RoutingObservationAdmin(admin.ModelAdmin):
    list_display = ["category", "township_code", "unit", "support", "against", "updated_at"]
    list_filter = ["category"]
    search_fields = ["township_code", "unit__name"]
    raw_id_fields = ["unit"]
