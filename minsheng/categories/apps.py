from django.apps import AppConfig


class CategoriesConfig(AppConfig):
    name = "minsheng.categories"
    label = "categories"
    verbose_name = "诉求类别"
