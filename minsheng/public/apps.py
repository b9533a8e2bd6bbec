from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "minsheng.public"
    label = "public"
    verbose_name = "群众端"

    def ready(self) -> None:
        # Registers the "web" parser, so payloads left pending are processed by the intake sweep too.
        from minsheng.public import parsing  # noqa: F401
