from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "minsheng.appeals"
    label = "appeals"
    verbose_name = "诉求"
