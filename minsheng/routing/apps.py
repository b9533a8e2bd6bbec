from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "minsheng.routing"
    label = "routing"
    verbose_name = "一站直办（分类与派单）"
