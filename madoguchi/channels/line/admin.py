"""Staff see inbound events that failed for good and can replay them; sends are listed too."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from madoguchi.channels.line.inbound import events_replay
from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.core.audit import audit_record


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "channel", "event_type", "status", "attempts", "is_redelivery"]
    list_filter = ["status", "event_type", "channel"]
    search_fields = ["webhook_event_id", "source_user_id"]
    date_hierarchy = "received_at"
    # The payload may hold a resident's words; it is shown on the detail page only.
    readonly_fields = [f.name for f in InboundEvent._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: InboundEvent | None = None) -> bool:
        return False

    @admin.action(description=_("選択したイベントを再処理する"), permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        ids = list(queryset.values_list("webhook_event_id", flat=True))
        count = events_replay(event_ids=ids)
        audit_record(
            action="line.events.replayed", actor=request.user, data={"count": count, "ids": ids[:100]}
        )
        self.message_user(
            request,
            ngettext("%(count)d 件を再処理します。", "%(count)d 件を再処理します。", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(OutboundRequest)
class OutboundRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "kind", "status", "attempts", "last_status_code"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["dedupe_key", "line_request_id"]
    readonly_fields = [f.name for f in OutboundRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboundRequest | None = None) -> bool:
        return False
