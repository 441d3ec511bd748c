"""Retention: the daily purge removes what is older than its period, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.core.audit import audit_record, audit_verify
from madoguchi.core.models import AuditEntry, Channel
from madoguchi.core.retention import RETENTION, retention_purge


@pytest.mark.django_db
def test_the_purge_removes_only_what_is_past_its_period(settings):
    channel = Channel.objects.create(slug="c", name="c", provider_channel_id="1", channel_secret="s")
    now = timezone.now()

    def event(key, days_old, status="done"):
        row = InboundEvent.objects.create(
            channel=channel,
            webhook_event_id=key,
            event_type="message",
            occurred_at=now,
            payload={},
            status=status,
        )
        InboundEvent.objects.filter(pk=row.pk).update(received_at=now - timedelta(days=days_old))

    event("old-done", settings.RETAIN_INBOUND_EVENTS_DAYS + 1)
    event("old-but-waiting", settings.RETAIN_INBOUND_EVENTS_DAYS + 1, status="retrying")  # never dropped
    event("recent", 1)
    sent = OutboundRequest.objects.create(
        channel=channel, kind="push", dedupe_key="old", messages=[], status="sent"
    )
    OutboundRequest.objects.filter(pk=sent.pk).update(
        created_at=now - timedelta(days=settings.RETAIN_OUTBOUND_REQUESTS_DAYS + 1)
    )
    OutboundRequest.objects.create(channel=channel, kind="push", dedupe_key="new", messages=[], status="sent")
    old_entry = audit_record(action="test.old")
    AuditEntry.objects.filter(pk=old_entry.pk).update(at=now - timedelta(days=settings.RETAIN_AUDIT_DAYS + 1))
    audit_record(action="test.recent")

    removed = retention_purge()

    assert sorted(InboundEvent.objects.values_list("webhook_event_id", flat=True)) == [
        "old-but-waiting",
        "recent",
    ]
    assert list(OutboundRequest.objects.values_list("dedupe_key", flat=True)) == ["new"]
    assert not AuditEntry.objects.filter(action="test.old").exists()
    assert AuditEntry.objects.filter(action="test.recent").exists()
    assert audit_verify().problem == ""
    assert set(removed) == {kind.name for kind in RETENTION}
