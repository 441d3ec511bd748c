"""The residents who are friends of a city's channel (or were: nothing is deleted on block)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel


class Resident(models.Model):
    """One LINE user of one channel. The LINE user id differs per provider, so it is per channel."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("友だち")
        BLOCKED = "blocked", _("ブロック中")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="residents")
    line_user_id = models.CharField(_("LINE ユーザー ID"), max_length=64)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    picture_url = models.URLField(_("プロフィール画像"), max_length=500, blank=True)
    language = models.CharField(_("言語"), max_length=20, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    followed_at = models.DateTimeField(_("友だち追加日時"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("ブロック日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    anonymised_at = models.DateTimeField(_("匿名化日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("住民")
        verbose_name_plural = _("住民")
        constraints = [
            models.UniqueConstraint(fields=["channel", "line_user_id"], name="resident_unique_per_channel")
        ]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return self.display_name or self.line_user_id[-6:]

    @property
    def reply_language(self) -> str:
        """The language to answer in: ja-easy (やさしい日本語) as chosen, else the base language of
        the resident's own (en-US → en); answers fall back to Japanese where none is written."""
        language = (self.language or "ja").lower()
        return language if language == "ja-easy" else language.split("-")[0]


class ErasureRequest(models.Model):
    """A data-subject request to erase a resident's personal data.

    It is carried out only when a second staff member approves it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        APPROVED = "approved", _("承認・匿名化済み")
        REJECTED = "rejected", _("却下")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="erasure_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("理由"), max_length=500)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("削除依頼")
        verbose_name_plural = _("削除依頼")

    def __str__(self) -> str:
        return f"{self.resident} ({self.get_status_display()})"
