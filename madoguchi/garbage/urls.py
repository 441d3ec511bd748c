from django.urls import path

from madoguchi.garbage import views

app_name = "garbage"

urlpatterns = [
    path("calendar/<slug:slug>.ics", views.area_ics, name="ics"),
]
