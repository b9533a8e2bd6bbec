from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "minsheng.sms"
    label = "sms"
    verbose_name = "短信"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from minsheng.sms import checks, texts  # noqa: F401  (checks registers itself)

        # Every registered text gets an editable row once the tables exist (idempotent).
        post_migrate.connect(texts.ensure_rows, sender=self, dispatch_uid="sms-ensure-template-rows")
