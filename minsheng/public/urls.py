from django.urls import path

from minsheng.public import views

urlpatterns = [
    path("", views.index, name="public-index"),
    path("mailbox/", views.mailbox, name="public-mailbox"),
    path("mailbox/received/<str:code>/", views.received, name="public-received"),
    path("track/", views.track, name="public-track"),
]
