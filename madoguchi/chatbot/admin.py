from django.contrib import admin

from madoguchi.chatbot.models import Keyword


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ["phrase", "match", "channel", "priority", "is_active"]
    list_filter = ["is_active", "match", "channel"]
    search_fields = ["phrase", "reply_text"]
