from django.apps import AppConfig


class ServicerecordsConfig(AppConfig):
    name = "minsheng.servicerecords"
    label = "servicerecords"
    verbose_name = "服务记录（110、窗口）"
