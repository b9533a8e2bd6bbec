from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CoreConfig(AppConfig):
    name = "minsheng.core"
    label = "core"
    verbose_name = "平台基础"

    def ready(self) -> None:
        from minsheng.core import workdays
        from minsheng.core.models import CalendarDay

        def forget(**kwargs):
            workdays.clear_cache()

        post_save.connect(forget, sender=CalendarDay, dispatch_uid="calendar_save", weak=False)
        post_delete.connect(forget, sender=CalendarDay, dispatch_uid="calendar_delete", weak=False)
