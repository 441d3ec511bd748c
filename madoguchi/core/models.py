"""What every other app stands on: the city's LINE channels, the audit trail, scheduled jobs."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.core.crypto import EncryptedTextField


class Channel(models.Model):
    """One LINE Official Account of the city (main, counseling, a bus route ...).

    The channel secret and access token are stored encrypted. Long-lived tokens are entered by
    staff; v2.1 tokens are issued on demand from a JWT signed with the channel's private key
    and cached here until shortly before they expire.
    """

    class Kind(models.TextChoices):
        LINE = "line", "LINE"

    class TokenKind(models.TextChoices):
        LONG_LIVED = "long_lived", _("長期のチャネルアクセストークン")
        V2_1 = "v2_1", _("チャネルアクセストークン v2.1 (JWT)")

    slug = models.SlugField(_("URL 名"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices, default=Kind.LINE)
    provider_channel_id = models.CharField(_("チャネル ID"), max_length=20)
    bot_user_id = models.CharField(_("ボットのユーザー ID"), max_length=40, blank=True)
    channel_secret = EncryptedTextField(_("チャネルシークレット"))
    token_kind = models.CharField(
        _("トークンの種類"), max_length=20, choices=TokenKind.choices, default=TokenKind.LONG_LIVED
    )
    access_token = EncryptedTextField(_("アクセストークン"), blank=True)
    access_token_expires_at = models.DateTimeField(_("トークンの有効期限"), null=True, blank=True)
    assertion_private_key = EncryptedTextField(
        _("アサーション署名鍵 (JWK)"), blank=True, help_text=_("v2.1 トークンを発行する秘密鍵")
    )
    assertion_kid = models.CharField(_("鍵 ID (kid)"), max_length=100, blank=True)
    is_confidential = models.BooleanField(
        _("相談窓口"),
        default=False,
        help_text=_(
            "いじめ・虐待・こころの相談などの窓口。受信・送信した内容を暗号化して保存し、相談員だけが読めます"
        ),
    )
    # LIFF (the resident-facing forms inside LINE). A LIFF app belongs to a LINE Login channel of
    # the same provider as this Messaging API channel (so both see the same user ids); its ID
    # tokens are verified against that Login channel's id.
    login_channel_id = models.CharField(
        _("LINE ログインチャネル ID"),
        max_length=20,
        blank=True,
        help_text=_("LIFF アプリを置いた LINE ログインチャネルの ID (同じプロバイダー)"),
    )
    liff_id = models.CharField(
        _("LIFF ID"),
        max_length=64,
        blank=True,
        help_text=_("エンドポイント URL は https://<ホスト>/liff/ に設定してください"),
    )
    is_active = models.BooleanField(_("有効"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("LINE チャネル")
        verbose_name_plural = _("LINE チャネル")

    def __str__(self) -> str:
        return self.name

    def liff_url(self, path: str = "") -> str | None:
        """The URL that opens one of Madoguchi's LIFF pages (e.g. "register/") inside LINE, for
        links, buttons and rich menu areas; None when this channel has no LIFF app.

        LINE opens the app's endpoint URL (`/liff/`) with the path in `liff.state`, and
        Madoguchi's `/liff/` view goes on to `/liff/<path>`; `channel` names this channel there.
        """
        if not self.liff_id:
            return None
        path, _sep, query = path.lstrip("/").partition("?")
        query = "&".join(filter(None, [query, urlencode({"channel": self.slug})]))
        return f"{LIFF_URL_BASE}/{self.liff_id}/{path}?{query}"


# Where LINE serves LIFF apps (linesim's phone page opens these URLs in its own web view).
LIFF_URL_BASE = "https://liff.line.me"
GENESIS_HASH = "0" * 64


class AuditEntry(models.Model):
    """One line of the audit trail: who did or saw what, when, from where, and why.

    Written by services (every write) and by selectors and console views (every view or export
    of personal data), only through `core.audit.audit_record`. Rows are only ever added: each
    carries the hash of the one before it, so a changed or removed row breaks the chain and
    `madoguchi audit_verify` finds it.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=150, help_text=_("スタッフ名、または system"))
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    reason = models.CharField(_("理由"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are removed only by the retention purge")

    def compute_hash(self) -> str:
        content = {
            "at": self.at.astimezone(UTC).isoformat(),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "ip_address": self.ip_address,
            "reason": self.reason,
            "data": self.data,
            "prev": self.prev_hash,
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class AuditChain(models.Model):
    """The end of the audit chain (one row): appends lock it, so entries form one line.

    `anchor_hash` is what the oldest kept entry must point to: the genesis hash, or after a
    retention purge the hash of the last purged entry.
    """

    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    anchor_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return self.last_hash


class ScheduledJob(models.Model):
    """When each periodic job (listed in core.scheduling) is next due.

    Any number of workers may tick; a job is claimed with a conditional UPDATE so only one runs it.
    """

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
