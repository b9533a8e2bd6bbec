"""REST API v1: one router for every app's viewsets."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from minsheng.cases.api.views import CaseViewSet, CategoryViewSet, UnitViewSet
from minsheng.intake.api import WorkOrderPushView
from minsheng.servicerecords.api import ServiceRecordPushView

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("units", UnitViewSet, basename="unit")
router.register("categories", CategoryViewSet, basename="category")

app_name = "api"
urlpatterns = [
    path("intake/partners/<slug:code>/work-orders/", WorkOrderPushView.as_view(), name="push-work-order"),
    path(
        "intake/partners/<slug:code>/service-records/",
        ServiceRecordPushView.as_view(),
        name="push-service-record",
    ),
    *router.urls,
]
