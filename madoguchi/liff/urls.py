from django.urls import path

from madoguchi.liff import garbage_views, views

app_name = "liff"

urlpatterns = [
    # The LIFF app's endpoint URL: LINE opens it first, with the page asked for in liff.state.
    path("", views.index, name="index"),
    path("session/", views.session_start, name="session"),
    path("terms/", views.terms, name="terms"),
    path("register/", views.register, name="register"),
    path("register/done/", views.registered, name="registered"),
    path("garbage/", garbage_views.garbage, name="garbage"),
]
