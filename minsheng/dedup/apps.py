from django.apps import AppConfig


class DedupConfig(AppConfig):
    """Duplicate detection across channels (自动比对)."""

    name = "minsheng.dedup"
    label = "dedup"
    verbose_name = "自动比对"
