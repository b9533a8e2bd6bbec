from django.apps import AppConfig


class UnitsConfig(AppConfig):
    name = "minsheng.units"
    label = "units"
    verbose_name = "组织机构"
