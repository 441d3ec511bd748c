"""The city's report set-up in the admin: categories (and their departments and urgent
numbers), districts, and which department handles a category in a district."""

from django.contrib import admin

from madoguchi.reports.models import Area, Category, Route


class RouteInline(admin.TabularInline):
    model = Route
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "department", "urgent_phone", "order", "is_active"]
    list_editable = ["order", "is_active"]
    inlines = [RouteInline]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "south", "west", "north", "east"]
