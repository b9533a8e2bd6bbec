"""REST API v1: one router for every app's viewsets."""

from rest_framework.routers import DefaultRouter

from minsheng.cases.api.views import CaseViewSet, CategoryViewSet, UnitViewSet

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("units", UnitViewSet, basename="unit")
router.register("categories", CategoryViewSet, basename="category")

app_name = "api"
urlpatterns = router.urls
