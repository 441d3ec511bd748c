"""Conversations between residents and staff: inquiries, and confidential counseling.

Every message body is stored encrypted (`EncryptedTextField`), counseling or not: the inbox holds
what residents tell the city in their own words. Counseling conversations live on a confidential
channel (`Channel.is_confidential`), where inbound events and sent messages are sealed as well.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department
from madoguchi.core.crypto import EncryptedTextField
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident


class Conversation(models.Model):
    """One resident's conversation with the city about one topic, from hand-off to close."""

    class Status(models.TextChoices):
        NEW = "new", _("未対応")
        OPEN = "open", _("対応中")
        CLOSED = "closed", _("完了")

    class Origin(models.TextChoices):
        RESIDENT = "resident", _("住民が依頼")
        BOT = "bot", _("自動応答から引き継ぎ")
        FEATURE = "feature", _("機能から (安否確認など)")
        STAFF = "staff", _("職員が開始")
        COUNSELING = "counseling", _("相談窓口")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="conversations")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="conversations")
    topic = models.CharField(_("件名"), max_length=100, default="", blank=True)
    is_counseling = models.BooleanField(_("相談"), default=False, editable=False)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.NEW)
    origin = models.CharField(_("開始のきっかけ"), max_length=20, choices=Origin.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("担当課"),
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("担当者"),
    )
    crisis = models.BooleanField(_("緊急 (危機の言葉)"), default=False)
    unread = models.PositiveIntegerField(_("未読"), default=0)
    opened_at = models.DateTimeField(_("開始日時"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("最終メッセージ"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("初回応答"), null=True, blank=True)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    # When the resident was last told that the counter is closed (said once per closed period).
    after_hours_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("会話")
        verbose_name_plural = _("会話")
        indexes = [
            models.Index(fields=["is_counseling", "status", "last_message_at"]),
            models.Index(fields=["resident", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Message(models.Model):
    """One message in a conversation: the resident's, a staff reply, or an internal note."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("住民")
        OUTBOUND = "out", _("職員")
        NOTE = "note", _("内部メモ")
        SYSTEM = "system", _("自動")

    class Delivery(models.TextChoices):
        NONE = "", "-"
        PENDING = "pending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("種類"), max_length=10, choices=Direction.choices)
    kind = models.CharField(_("形式"), max_length=20, default="text")  # text, image, file, location ...
    body = EncryptedTextField(_("本文"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)
    # Inbound: what LINE gave with the message, to answer by reply token and to mark it read.
    line_message_id = models.CharField(max_length=40, blank=True)
    reply_token = models.CharField(max_length=100, blank=True)
    received_at_ms = models.BigIntegerField(null=True, blank=True)
    mark_read_token = models.CharField(max_length=200, blank=True)
    # Outbound: where the reply is in being sent.
    delivery = models.CharField(_("送信"), max_length=20, choices=Delivery.choices, default=Delivery.NONE)
    delivery_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("メッセージ")
        verbose_name_plural = _("メッセージ")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """An image or file a resident sent, kept encrypted (images re-encoded without their metadata)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="attachment")
    content_type = models.CharField(max_length=100)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    data = EncryptedTextField()  # base64 of the bytes, encrypted
    fetched_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.content_type} ({self.size} bytes)"


class CannedReply(models.Model):
    """A reply staff use often, one click to insert."""

    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_replies",
        verbose_name=_("担当課"),
        help_text=_("空欄なら全庁共通"),
    )
    title = models.CharField(_("名前"), max_length=60)
    text = models.TextField(_("本文"), max_length=5000)
    for_counseling = models.BooleanField(_("相談用"), default=False)

    class Meta:
        verbose_name = _("定型文")
        verbose_name_plural = _("定型文")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
