from django.urls import path

from minsheng.cases import views
from minsheng.dedup import views as dedup_views

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/export.csv", views.export, name="case-export"),
    path("cases/<str:number>/", views.case_detail, name="case-detail"),
    path("cases/<str:number>/actions/<slug:action>/", views.case_action, name="case-action"),
    path("cases/<str:number>/appeals/<int:appeal_id>/reveal/<slug:field>/", views.reveal, name="case-reveal"),
    path("cases/<str:number>/appeals/<int:appeal_id>/split/", dedup_views.split, name="case-split-appeal"),
    path(
        "cases/<str:number>/duplicates/<int:suggestion_id>/<slug:decision>/",
        dedup_views.decide,
        name="case-duplicate",
    ),
]
