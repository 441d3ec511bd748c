from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", lambda request: redirect("console:dashboard")),
    path("healthz", healthz),
    path("i18n/", include("django.conf.urls.i18n")),
    path("line/", include("madoguchi.channels.line.urls")),
    path("console/", include("madoguchi.console.urls")),
    path("admin/", admin.site.urls),
]
