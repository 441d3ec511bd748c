from django.contrib import admin

from madoguchi.faq.models import FaqEntry, Question, Synonym


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["external_id", "question", "category", "department_label", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["external_id", "question", "answer"]


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    list_display = ["term", "means", "is_active"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["asked_at", "text", "outcome", "entry", "helpful", "resolution"]
    list_filter = ["outcome", "helpful", "resolution"]
    readonly_fields = [
        "resident",
        "text",
        "outcome",
        "entry",
        "candidates",
        "helpful",
        "asked_at",
        "handled_at",
        "handled_by",
        "resolution",
        "resolved_entry",
    ]
