from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from madoguchi.open311 import views
from madoguchi.open311.formats import error

app_name = "open311"
FMT = r"\.(?P<fmt>xml|json)$"


def root(request: HttpRequest) -> HttpResponse:
    return views.discovery(request, "xml")


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return error("json" if rest.endswith(".json") else "xml", 404, "not found")


urlpatterns = [
    path("", root, name="root"),
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.services, name="services"),
    re_path(r"^services/(?P<code>[-a-zA-Z0-9_]{1,40})" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[-A-Za-z0-9_]{1,20})" + FMT, views.request_one, name="request"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
