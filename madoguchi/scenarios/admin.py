from django.contrib import admin

from madoguchi.scenarios.models import Scenario, ScenarioVersion


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "department", "is_disaster", "is_active"]
    list_filter = ["is_disaster", "is_active"]
    search_fields = ["slug", "title"]


@admin.register(ScenarioVersion)
class ScenarioVersionAdmin(admin.ModelAdmin):
    # Versions are written through the console (validated, audited); the admin only shows them.
    list_display = ["scenario", "number", "status", "created_at", "published_at"]
    list_filter = ["status"]
    readonly_fields = [
        "scenario",
        "number",
        "status",
        "definition",
        "source",
        "note",
        "created_by",
        "created_at",
        "published_at",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False
