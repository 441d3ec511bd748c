from django.urls import path

from madoguchi.channels.line.webhook import webhook

app_name = "line"

urlpatterns = [
    path("<slug:channel_slug>/webhook", webhook, name="webhook"),
]
