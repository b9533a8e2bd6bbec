from django.urls import path

from minsheng.followup import views

urlpatterns = [
    path("", views.queue, name="followup-queue"),
    path("<int:pk>/", views.detail, name="followup-detail"),
    path("<int:pk>/answer/", views.answer, name="followup-answer"),
    path("<int:pk>/call/", views.call, name="followup-call"),
    path("<int:pk>/reveal/", views.reveal, name="followup-reveal"),
]
