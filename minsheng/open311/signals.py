"""Every Open311 appeal gets its public id in the transaction that creates it.

A signal rather than a step after ``service.process``: the intake service registers the appeal inside
its own transaction (and the recovery task may do it in another process), so this is the one place
that sees every Open311 appeal being created, and a crash can never leave one without its id.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from minsheng.appeals.choices import Channel
from minsheng.appeals.models import Appeal


@receiver(post_save, sender=Appeal, dispatch_uid="open311-request-id")
def give_open311_id(sender, instance: Appeal, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and instance.channel == Channel.OPEN311:
        from minsheng.open311.models import Open311Request

        Open311Request.objects.get_or_create(appeal=instance)
