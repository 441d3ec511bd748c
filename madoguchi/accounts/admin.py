from django.contrib import admin

from madoguchi.accounts.models import Department, StaffProfile


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "department", "totp_confirmed", "locked_until"]
    list_filter = ["role", "department"]
    exclude = ["totp_secret", "totp_last_step"]
