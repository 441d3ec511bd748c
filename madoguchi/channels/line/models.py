"""What LINE sent us (inbound events) and what we sent LINE (outbound requests)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel


class InboundEvent(models.Model):
    """One webhook event, stored before we answer LINE and kept whatever its type.

    The unique `webhook_event_id` makes a redelivery a no-op. `payload` is the event exactly as
    LINE sent it, unknown fields included. The table is also the queue of events to process
    (inbound.py): a row waits while QUEUED, or RETRYING until `next_try_at`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("処理待ち")
        PROCESSING = "processing", _("処理中")
        RETRYING = "retrying", _("再試行待ち")
        DONE = "done", _("処理済み")
        FAILED = "failed", _("失敗")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="inbound_events")
    webhook_event_id = models.CharField(_("webhookEventId"), max_length=64, unique=True)
    event_type = models.CharField(_("種類"), max_length=40)
    source_user_id = models.CharField(_("ユーザー ID"), max_length=64, blank=True, db_index=True)
    occurred_at = models.DateTimeField(_("発生日時"))
    is_redelivery = models.BooleanField(_("再送"), default=False)
    payload = models.JSONField(_("イベント"))
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_error = models.TextField(_("最後のエラー"), blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(_("処理日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("受信イベント")
        verbose_name_plural = _("受信イベント")
        indexes = [
            models.Index(fields=["status", "received_at"]),
            # What the worker claims next, oldest first: only the waiting rows are in it.
            models.Index(
                fields=["id"],
                name="line_inbound_waiting",
                condition=models.Q(status__in=["queued", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_event_id}"

    def seal(self) -> None:
        from madoguchi.channels.line.inbound import payload_unsealed, sealed_payload

        if self.channel.is_confidential:
            return  # sealed when it was stored
        stored = sealed_payload(payload_unsealed(self.payload))
        InboundEvent.objects.filter(pk=self.pk).update(payload=stored)


class OutboundRequest(models.Model):
    """One call to LINE's sending API, recorded before the first attempt.

    The retry key is stored before the first try and reused on every retry, so LINE executes the
    request at most once (a repeat answers 409, which counts as sent). `dedupe_key` names what
    the call is for (an event's answer, a delivery batch) so that work done again sends nothing
    twice.
    """

    class Kind(models.TextChoices):
        REPLY = "reply", _("応答")
        PUSH = "push", _("プッシュ")
        MULTICAST = "multicast", _("マルチキャスト")
        NARROWCAST = "narrowcast", _("ナローキャスト")
        BROADCAST = "broadcast", _("一斉配信")

    class Status(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENT = "sent", _("送信済み")
        TRANSIENT_FAILURE = "transient_failure", _("一時的な失敗")
        PERMANENT_FAILURE = "permanent_failure", _("恒久的な失敗")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="outbound_requests")
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    recipients = models.JSONField(_("宛先"), default=list)
    messages = models.JSONField(_("メッセージ"))
    retry_key = models.UUIDField(null=True, blank=True, default=uuid.uuid4)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(_("エラー"), blank=True)
    line_request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("送信リクエスト")
        verbose_name_plural = _("送信リクエスト")

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key}"
