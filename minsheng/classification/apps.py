from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    """Appeal classification: no models of its own; the ``classify`` command and the classifiers."""

    name = "minsheng.classification"
    label = "classification"
    verbose_name = "诉求分类"
