"""Inbound events: stored once when LINE posts them, processed by a worker, never dropped.

The stored events are their own queue (no task per event: at a burst's rate, a task row to write,
claim and finish per event cost more than the event's own work).

- `events_store` runs inside the webhook request: one INSERT ... ON CONFLICT DO NOTHING of the
  events keyed by their `webhookEventId`. A stored event is a waiting event, so an event that
  was answered 200 is always processed.
- `events_claim` takes the oldest waiting events in one UPDATE (FOR UPDATE SKIP LOCKED on
  PostgreSQL: workers never claim the same event); `events_process` hands each to the chatbot's
  dispatcher and marks them done together, or schedules another try with a growing wait; after
  the last try the event is FAILED, visible to staff and replayable (`madoguchi replay_events`).
  `events_loop` is what `madoguchi worker` runs beside its tasks (settings.WORKER_LOOPS).
- `events_requeue_stuck` (periodic) re-queues events whose worker died mid-processing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from madoguchi.channels.base import ChannelError
from madoguchi.channels.line.models import InboundEvent
from madoguchi.core.bulk import insert_new
from madoguchi.core.crypto import rotate, seal, unseal

logger = logging.getLogger(__name__)

# What handles stored events: the chatbot's dispatcher, named here by path because a channel
# integration sits below the domain apps and must not import them. It takes a batch of events
# and returns, for each, None when it was handled or the exception that stopped it.
EVENT_HANDLER = "madoguchi.chatbot.engine.dispatch_many"


def event_key(event: dict[str, Any]) -> str:
    """The event's webhookEventId; events from old or odd senders without one get a digest."""
    event_id = event.get("webhookEventId")
    if isinstance(event_id, str) and 0 < len(event_id) <= 64:
        return event_id
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode()
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:56]


def _occurred_at(event: dict[str, Any]) -> datetime:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int | float) and 0 < timestamp < 10**14:
        return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    return timezone.now()


def _user_id(event: dict[str, Any]) -> str:
    source = event.get("source")
    if isinstance(source, dict):
        user_id = source.get("userId")
        if isinstance(user_id, str):
            return user_id[:64]
    return ""


def _redelivery(event: dict[str, Any]) -> bool:
    context = event.get("deliveryContext")
    return isinstance(context, dict) and context.get("isRedelivery") is True


def _without_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot hold U+0000; it becomes U+FFFD (nothing else is changed)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def sealed_payload(event: dict[str, Any]) -> dict[str, Any]:
    """A confidential channel's event as stored: the envelope in clear (type, time, who), the whole
    event encrypted under "sealed", so a database dump or the console never shows what was said."""
    envelope = {key: value for key, value in event.items() if key not in _CONTENT_KEYS}
    envelope["sealed"] = seal(event)
    return envelope


def payload_unsealed(payload: dict[str, Any]) -> dict[str, Any]:
    sealed = payload.get("sealed")
    return unseal(sealed) if isinstance(sealed, str) else payload


def events_store(channel_id: int, events: list[dict[str, Any]], *, confidential: bool = False) -> list[str]:
    """Store the events not seen before (they wait for a worker); return their keys."""
    by_key: dict[str, dict[str, Any]] = {}
    for event in map(_without_nul, events):
        by_key.setdefault(event_key(event), event)
    rows = [
        InboundEvent(
            channel_id=channel_id,
            webhook_event_id=key,
            event_type=str(event.get("type", ""))[:40],
            source_user_id=_user_id(event),
            occurred_at=_occurred_at(event),
            is_redelivery=_redelivery(event),
            payload=sealed_payload(event) if confidential else event,
        )
        for key, event in by_key.items()
    ]
    # One statement: a redelivery, or two deliveries of one event racing, store it once.
    return insert_new(rows, key="webhook_event_id")


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=settings.EVENT_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


_WAITING = (InboundEvent.Status.QUEUED, InboundEvent.Status.RETRYING)


def events_claim(limit: int) -> list[InboundEvent]:
    """The oldest waiting events (at most `limit`), now PROCESSING and this worker's alone.

    One statement: on PostgreSQL the inner SELECT skips rows another worker is claiming at the
    same moment; SQLite runs one writing statement at a time, so there is nothing to skip.
    """
    now = timezone.now()
    meta = InboundEvent._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"UPDATE {table} SET status = %s, started_at = %s, attempts = attempts + 1 "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {table} WHERE status IN (%s, %s) "
        f"AND (next_try_at IS NULL OR next_try_at <= %s) ORDER BY id LIMIT %s{skip_locked}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [InboundEvent.Status.PROCESSING, now, *_WAITING, now, limit])
        ids = [pk for (pk,) in cursor.fetchall()]
    if not ids:
        return []
    return list(InboundEvent.objects.filter(pk__in=ids).select_related("channel").order_by("pk"))


def _failed(event: InboundEvent, exc: Exception) -> None:
    """Schedule another try of an event that failed, with a growing wait; after the last, FAILED."""
    permanent = isinstance(exc, ChannelError) and exc.permanent
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if permanent or event.attempts >= settings.EVENT_MAX_ATTEMPTS:
        logger.error(
            "event %s failed for good after %s tries", event.webhook_event_id, event.attempts, exc_info=exc
        )
        InboundEvent.objects.filter(pk=event.pk).update(
            status=InboundEvent.Status.FAILED, last_error=error, processed_at=timezone.now()
        )
        return
    logger.warning(
        "event %s failed (try %s), will retry: %s", event.webhook_event_id, event.attempts, type(exc).__name__
    )
    InboundEvent.objects.filter(pk=event.pk).update(
        status=InboundEvent.Status.RETRYING,
        last_error=error,
        next_try_at=timezone.now() + _retry_delay(event.attempts),
    )


def events_process(events: list[InboundEvent]) -> None:
    """Hand claimed events to the dispatcher, in the order LINE sent them. Those handled are
    marked done in one UPDATE at the end (a worker that dies before has them re-queued by
    `events_requeue_stuck`; an answer done again is not sent twice: its dedupe key)."""
    for event in events:
        # In memory only: the row keeps its sealed payload (nothing below saves the whole row).
        event.payload = payload_unsealed(event.payload)
    try:
        outcomes = import_string(EVENT_HANDLER)(events)
    except Exception as exc:  # the whole batch failed (the database went away …): each is retried
        outcomes = [exc] * len(events)
    done = []
    for event, outcome in zip(events, outcomes, strict=True):
        if outcome is None:
            done.append(event.pk)
        else:
            _failed(event, outcome)
    if done:
        InboundEvent.objects.filter(pk__in=done).update(
            status=InboundEvent.Status.DONE, last_error="", next_try_at=None, processed_at=timezone.now()
        )


def events_loop(stop: threading.Event, interval: float) -> None:
    """`madoguchi worker`'s inbound loop: claim a batch and process it; claim again at once only
    while batches come full (a backlog), else wait `interval` first. Under a steady stream that
    wait lets events gather, so a worker handles them in batches rather than one claim, one
    residents' query, one acknowledgement each; a lone message waits at most `interval`."""
    while not stop.is_set():
        try:
            claimed = events_claim(settings.EVENT_BATCH)
            if claimed:
                events_process(claimed)
                if len(claimed) == settings.EVENT_BATCH:
                    continue
        except Exception:  # the database may be briefly away; try again after the wait
            logger.exception("processing inbound events failed")
        close_old_connections()
        stop.wait(interval)


def events_requeue_stuck() -> int:
    """Periodic: events left PROCESSING by a worker that died wait to be claimed again."""
    cutoff = timezone.now() - timedelta(seconds=settings.EVENT_STUCK_SECONDS)
    requeued = InboundEvent.objects.filter(
        status=InboundEvent.Status.PROCESSING, started_at__lt=cutoff
    ).update(
        status=InboundEvent.Status.RETRYING, next_try_at=None, last_error="worker stopped while processing"
    )
    if requeued:
        logger.warning("re-queued %s events left by a stopped worker", requeued)
    return requeued


def events_replay(*, event_ids: list[str] | None = None, failed: bool = False) -> int:
    """Queue FAILED (or named) events again with a fresh set of tries; return how many."""
    events = InboundEvent.objects.exclude(status=InboundEvent.Status.PROCESSING)
    if event_ids is not None:
        events = events.filter(webhook_event_id__in=event_ids)
    elif failed:
        events = events.filter(status=InboundEvent.Status.FAILED)
    else:
        return 0
    return events.update(status=InboundEvent.Status.QUEUED, attempts=0, next_try_at=None, processed_at=None)


def events_rotate_keys(batch: int = 500) -> int:
    """Sealed payloads re-encrypted with the current key (`madoguchi rotate_keys`)."""
    count = 0
    sealed = InboundEvent.objects.filter(payload__has_key="sealed").values_list("pk", flat=True)
    for pk in sealed.iterator(chunk_size=batch):
        with transaction.atomic():
            event = InboundEvent.objects.select_for_update().get(pk=pk)
            event.payload["sealed"] = rotate(event.payload["sealed"])
            event.save(update_fields=["payload"])
            count += 1
    return count


def events_purge_before(cutoff: datetime) -> int:
    """Retention: inbound events received before `cutoff` that are finished with."""
    old = InboundEvent.objects.filter(received_at__lt=cutoff).exclude(
        status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.PROCESSING, InboundEvent.Status.RETRYING]
    )
    count, _ = old.delete()
    return count


# What in a stored event is the resident's own content (removed on erasure, sealed in confidential
# channels).
_CONTENT_KEYS = {
    "sealed",
    "message",
    "postback",
    "beacon",
    "link",
    "things",
    "joined",
    "left",
    "unsend",
    "videoPlayComplete",
}


def events_anonymise(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure: a resident's events keep their type and time; their content and LINE id go."""
    count = 0
    for event in InboundEvent.objects.filter(channel_id=channel_id, source_user_id=line_user_id):
        payload = {key: value for key, value in event.payload.items() if key not in _CONTENT_KEYS}
        payload["source"] = {"type": "user", "userId": pseudonym}
        payload.pop("replyToken", None)
        event.payload = payload
        event.source_user_id = pseudonym
        event.save(update_fields=["payload", "source_user_id"])
        count += 1
    return count
