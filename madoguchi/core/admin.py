"""Channels are set up by the IT section; secrets are write-only in the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from madoguchi.core.audit import audit_record
from madoguchi.core.models import AuditEntry, Channel

SECRET_FIELDS = ["channel_secret", "access_token", "assertion_private_key"]


class ChannelForm(forms.ModelForm):
    """Secrets are never shown again; an empty field keeps the stored value."""

    class Meta:
        model = Channel
        fields = [
            "slug",
            "name",
            "kind",
            "provider_channel_id",
            "bot_user_id",
            "channel_secret",
            "token_kind",
            "access_token",
            "assertion_private_key",
            "assertion_kid",
            "login_channel_id",
            "liff_id",
            "is_active",
        ]
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.fields[name].required = False
            if self.instance.pk:
                self.fields[name].help_text = _("保存済み。変更するときだけ入力してください。")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        if not cleaned.get("channel_secret"):
            self.add_error("channel_secret", _("チャネルシークレットを入力してください。"))
        return cleaned


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "slug", "provider_channel_id", "token_kind", "is_active"]

    def save_model(self, request: HttpRequest, obj: Channel, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name not in SECRET_FIELDS]
        secrets_changed = [name for name in form.changed_data if name in SECRET_FIELDS]
        audit_record(
            action="core.channel.changed" if change else "core.channel.created",
            actor=request.user,
            obj=obj,
            ip_address=request.META.get("REMOTE_ADDR"),
            data={"fields": changed, "secrets_replaced": secrets_changed},
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_label", "action", "object_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
