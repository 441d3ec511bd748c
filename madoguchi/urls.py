from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from madoguchi.console.access import admin_site_allowed, admin_site_login

# The admin site (channel and keyword set-up) sits behind the console's own sign-in.
admin.site.has_permission = admin_site_allowed  # type: ignore[method-assign]
admin.site.login = admin_site_login  # type: ignore[method-assign]
admin.site.site_header = "Madoguchi"


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", lambda request: redirect("console:dashboard")),
    path("healthz", healthz),
    path("i18n/", include("django.conf.urls.i18n")),
    path("line/", include("madoguchi.channels.line.urls")),
    path("console/", include("madoguchi.console.urls")),
    path("liff/", include("madoguchi.liff.urls")),
    path("open311/v2/", include("madoguchi.open311.urls")),
    path("reports/", include("madoguchi.outcomes.urls")),
    path("garbage/", include("madoguchi.garbage.urls")),
    path("faq/", include("madoguchi.faq.urls")),
    path("admin/", admin.site.urls),
]
