from django.contrib import admin

from madoguchi.residents.models import Resident


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "channel", "status", "language", "followed_at"]
    list_filter = ["status", "channel", "language"]
    readonly_fields = ["channel", "line_user_id", "followed_at", "blocked_at", "created_at"]
