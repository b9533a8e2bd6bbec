from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "minsheng.routing"
    label = "routing"
    verbose_name = "一站直办（分类与派单）"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from minsheng.categories.models import Category
        from minsheng.routing import triage
        from minsheng.routing.models import RoutingRule
        from minsheng.units.models import Unit

        for model in (Unit, Category, RoutingRule):
            post_save.connect(
                triage.reset, sender=model, weak=False, dispatch_uid=f"triage-{model.__name__}-save"
            )
            post_delete.connect(
                triage.reset, sender=model, weak=False, dispatch_uid=f"triage-{model.__name__}-del"
            )
        # Statistics edited in the admin count at once in this process (actions refresh them too).
        from minsheng.routing.models import RoutingObservation

        for signal, uid in ((post_save, "save"), (post_delete, "del")):
            signal.connect(
                triage.refresh_observations,
                sender=RoutingObservation,
                weak=False,
                dispatch_uid=f"triage-observation-{uid}",
            )
