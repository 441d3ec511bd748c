"""Shelters in the admin (corrections staff cannot make from the console page)."""

from django.contrib import admin

from madoguchi.disaster.models import Shelter


@admin.register(Shelter)
class ShelterAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "district", "source", "key", "is_active"]
    list_filter = ["status", "kind", "source", "is_active", "district"]
    search_fields = ["name", "address", "key"]
