from django.apps import AppConfig


class DivisionsConfig(AppConfig):
    name = "minsheng.divisions"
    label = "divisions"
    verbose_name = "行政区划"
