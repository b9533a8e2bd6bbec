from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    name = "minsheng.classification"
    label = "classification"
