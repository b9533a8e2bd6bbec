from django.urls import path

from minsheng.intake import views

urlpatterns = [
    path("imports/", views.imports, name="intake-imports"),
    path("imports/<int:pk>/rejections/", views.rejections, name="intake-rejections"),
]
