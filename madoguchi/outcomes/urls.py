from django.urls import path

from madoguchi.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.outcomes, name="list"),
    path("markers.json", views.markers, name="markers"),
    path("photos/<int:photo_id>.jpg", views.photo, name="photo"),
    path("<str:number>/", views.report, name="report"),
]
