from django.apps import AppConfig


class Open311Config(AppConfig):
    name = "minsheng.open311"
    label = "open311"
    verbose_name = "Open311 开放接口"

    def ready(self) -> None:
        # Registers the "open311" parser with the intake service, so that the recovery task and an
        # admin's re-processing find it even in a process that never served an Open311 request.
        from minsheng.open311 import intake, signals  # noqa: F401
