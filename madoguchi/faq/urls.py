from django.urls import path

from madoguchi.faq import views

app_name = "faq"

urlpatterns = [
    path("images/<slug:key>.<slug:ext>", views.image, name="image"),
    path("images/<slug:key>/preview.jpg", views.image_preview, name="image_preview"),
]
