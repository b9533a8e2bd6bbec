from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "minsheng.intake"
    label = "intake"
    verbose_name = "一网受理"

    def ready(self) -> None:
        # Importing registers the "imap" parser, so the pending-payload sweep knows it in every process.
        from minsheng.intake import email  # noqa: F401
