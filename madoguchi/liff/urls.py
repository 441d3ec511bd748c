from django.urls import path, re_path

from madoguchi.liff import bulky_views, garbage_views, views

app_name = "liff"

urlpatterns = [
    # The LIFF app's endpoint URL: LINE opens it first, with the page asked for in liff.state.
    path("", views.index, name="index"),
    path("session/", views.session_start, name="session"),
    path("terms/", views.terms, name="terms"),
    path("register/", views.register, name="register"),
    path("register/done/", views.registered, name="registered"),
    path("garbage/", garbage_views.garbage, name="garbage"),
    # 粗大ごみ booking
    path("bulky/", bulky_views.book, name="bulky"),
    path("bulky/mine/", bulky_views.mine, name="bulky_mine"),
    re_path(
        r"^bulky/b/(?P<number>S-[0-9]{4}-[0-9]{6,9})/$", bulky_views.booking_detail, name="bulky_booking"
    ),
    re_path(
        r"^bulky/b/(?P<number>S-[0-9]{4}-[0-9]{6,9})/(?P<action>change|cancel)/$",
        bulky_views.booking_action,
        name="bulky_action",
    ),
]
