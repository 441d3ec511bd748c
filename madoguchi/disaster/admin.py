"""Shelters in the admin (corrections staff cannot make from the console page)."""

from django.contrib import admin
from django.db import models

from madoguchi.disaster.models import Alert, AlertFeed, AlertRule, Shelter


@admin.register(Shelter)
class ShelterAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "district", "source", "key", "is_active"]
    list_filter = ["status", "kind", "source", "is_active", "district"]
    search_fields = ["name", "address", "key"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "area_codes",
        "min_severity",
        "template",
        "action",
        "segment",
        "is_active",
    ]
    list_filter = ["is_active", "action", "template"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["event", "source", "kind", "severity", "sent", "received_at"]
    list_filter = ["source", "kind", "severity"]
    search_fields = ["identifier", "event", "headline"]
    exclude = ["raw"]


@admin.register(AlertFeed)
class AlertFeedAdmin(admin.ModelAdmin):
    list_display = ["name", "interval_seconds", "is_active", "last_ok_at", "failures", "last_error"]
    list_filter = ["is_active"]
    fields = ["name", "url", "interval_seconds", "known_kinds_only", "is_active"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # the URL rule: https
