"""Stored events are their own queue: claimed in batches, oldest first, never by two workers."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from madoguchi.channels.line.inbound import events_claim, events_requeue_stuck, events_store
from madoguchi.channels.line.models import InboundEvent


def store(channel, count: int) -> list[str]:
    events = [
        {
            "type": "message",
            "timestamp": 1_760_000_000_000,
            "source": {"type": "user", "userId": f"U{n:032x}"},
            "webhookEventId": uuid.uuid4().hex[:26].upper(),
            "message": {"id": str(n), "type": "text", "text": "こんにちは"},
        }
        for n in range(count)
    ]
    return events_store(channel.pk, events)


def test_a_claim_takes_the_oldest_waiting_events_and_marks_them_processing(channel):
    keys = store(channel, 5)
    claimed = events_claim(3)
    assert [event.webhook_event_id for event in claimed] == keys[:3]
    assert {event.status for event in claimed} == {InboundEvent.Status.PROCESSING}
    assert all(event.attempts == 1 and event.started_at for event in claimed)
    assert claimed[0].channel == channel  # read with the event
    assert [event.webhook_event_id for event in events_claim(10)] == keys[3:]
    assert events_claim(10) == []


def test_an_event_waiting_for_its_next_try_is_not_claimed_before_its_time(channel):
    [key] = store(channel, 1)
    later = timezone.now() + timedelta(minutes=1)
    InboundEvent.objects.update(status=InboundEvent.Status.RETRYING, next_try_at=later)
    assert events_claim(10) == []
    InboundEvent.objects.update(next_try_at=timezone.now() - timedelta(seconds=1))
    assert [event.webhook_event_id for event in events_claim(10)] == [key]


def test_events_left_processing_by_a_dead_worker_wait_again(channel, settings):
    settings.EVENT_STUCK_SECONDS = 1
    store(channel, 2)
    events_claim(10)
    InboundEvent.objects.update(started_at=timezone.now() - timedelta(seconds=5))
    assert events_requeue_stuck() == 2
    assert len(events_claim(10)) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_claim_skips_events_another_worker_is_claiming(transactional_db, channel):
    keys = store(channel, 4)
    locked = threading.Event()
    release = threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(InboundEvent.objects.select_for_update().filter(webhook_event_id__in=keys[:2]))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        # Not blocked behind the other worker's rows: it takes the next ones.
        assert [event.webhook_event_id for event in events_claim(10)] == keys[2:]
    finally:
        release.set()
        thread.join(10)
    assert [event.webhook_event_id for event in events_claim(10)] == keys[:2]
