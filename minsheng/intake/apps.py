from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "minsheng.intake"
    label = "intake"
    verbose_name = "一网受理"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        # Importing ``email`` registers the "imap" parser, so the pending-payload sweep knows it in
        # every process.
        from minsheng.intake import email, partners  # noqa: F401
        from minsheng.intake.models import Partner

        post_save.connect(partners.reset, sender=Partner, weak=False, dispatch_uid="partner-cache-save")
        post_delete.connect(partners.reset, sender=Partner, weak=False, dispatch_uid="partner-cache-del")
