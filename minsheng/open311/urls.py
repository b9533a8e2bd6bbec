"""GeoReport v2 under /open311/v2/: every resource as .json or .xml; anything else is the spec's 404."""

from django.urls import re_path

from minsheng.open311 import views

app_name = "open311"

FMT = r"\.(?P<fmt>json|xml)$"
ID = r"(?P<{}>[-\w]{{1,64}})"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.services, name="services"),
    re_path(r"^services/" + ID.format("code") + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    # The wiki writes requests/{id}, the published swagger request/{id}: both are answered.
    re_path(r"^requests?/" + ID.format("request_id") + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/" + ID.format("token") + FMT, views.token, name="token"),
    re_path(r"^.*$", views.not_found),
]
