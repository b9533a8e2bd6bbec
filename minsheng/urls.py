from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from minsheng.accounts.forms import LoginForm
from minsheng.core.views import healthz

admin.site.site_header = "民生警务平台 · 系统管理"
admin.site.site_title = "民生警务平台"
admin.site.index_title = "组织、类别与业务参数"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("minsheng.api_urls")),
    path("public/", include("minsheng.public.urls")),
    path("intake/", include("minsheng.intake.urls")),
    path("open311/v2/", include("minsheng.open311.urls")),
    path("sms/", include("minsheng.sms.urls")),
    path("followup/", include("minsheng.followup.urls")),
    path("", include("minsheng.cases.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
