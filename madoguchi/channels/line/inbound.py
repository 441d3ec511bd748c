"""Inbound events: stored once when LINE posts them, processed by a task, never dropped.

- `events_store` runs inside the webhook request. It stores each event keyed by its
  `webhookEventId` and enqueues its processing in the same transaction: both are written or
  neither is, so an event that was answered 200 always has a task waiting for it.
- `event_process` runs in a worker. It claims the event with a conditional UPDATE (a second
  task for the same event does nothing), hands it to the chatbot's dispatcher, and on failure
  schedules another try with a growing wait; after the last try the event is FAILED, visible to
  staff and replayable (`madoguchi replay_events`).
- `events_requeue_stuck` (periodic) re-queues events whose worker died mid-processing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from madoguchi.channels.base import ChannelError
from madoguchi.channels.line.models import InboundEvent
from madoguchi.core.crypto import rotate, seal, unseal

logger = logging.getLogger(__name__)

# What handles a stored event. The chatbot's dispatcher, named here by path because a channel
# integration sits below the domain apps and must not import them.
EVENT_HANDLER = "madoguchi.chatbot.engine.dispatch"


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
    """Store the events not seen before and enqueue their processing; return their keys."""
    from madoguchi.channels.line.tasks import process_inbound_event

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
    with transaction.atomic():
        stored = _insert_new(rows)
        for webhook_event_id in stored:
            process_inbound_event.enqueue(webhook_event_id)
    return stored


def _insert_new(rows: list[InboundEvent]) -> list[str]:
    """Insert the rows whose webhookEventId is new; return those keys.

    One statement, INSERT ... ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite 3.35+): a
    redelivery, or two deliveries of one event racing each other, store it once, and the webhook
    (the hottest path) makes one round trip instead of a SELECT and an INSERT.
    """
    if not rows:
        return []
    meta = InboundEvent._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    key_column = quote(meta.get_field("webhook_event_id").column)
    values: list[Any] = []
    for row in rows:
        values += [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES {placeholders} ON CONFLICT ({key_column}) DO NOTHING RETURNING {key_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [key for (key,) in cursor.fetchall()]


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=settings.EVENT_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def event_process(webhook_event_id: str) -> None:
    """Process one stored event, at most once at a time, retrying on failure."""
    from madoguchi.channels.line.tasks import process_inbound_event

    now = timezone.now()
    claimed = InboundEvent.objects.filter(
        webhook_event_id=webhook_event_id,
        status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.RETRYING],
    ).update(status=InboundEvent.Status.PROCESSING, started_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return  # already done, failed for good, or being processed by another worker
    event = InboundEvent.objects.select_related("channel").get(webhook_event_id=webhook_event_id)
    # In memory only: the row keeps its sealed payload (nothing below saves the whole row).
    event.payload = payload_unsealed(event.payload)
    try:
        import_string(EVENT_HANDLER)(event)
    except Exception as exc:
        permanent = isinstance(exc, ChannelError) and exc.permanent
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if permanent or event.attempts >= settings.EVENT_MAX_ATTEMPTS:
            logger.exception("event %s failed for good after %s tries", webhook_event_id, event.attempts)
            InboundEvent.objects.filter(pk=event.pk).update(
                status=InboundEvent.Status.FAILED, last_error=error, processed_at=timezone.now()
            )
            return
        logger.warning(
            "event %s failed (try %s), will retry: %s", webhook_event_id, event.attempts, type(exc).__name__
        )
        with transaction.atomic():
            InboundEvent.objects.filter(pk=event.pk).update(
                status=InboundEvent.Status.RETRYING, last_error=error
            )
            process_inbound_event.using(run_after=timezone.now() + _retry_delay(event.attempts)).enqueue(
                webhook_event_id
            )
        return
    InboundEvent.objects.filter(pk=event.pk).update(
        status=InboundEvent.Status.DONE, last_error="", processed_at=timezone.now()
    )


def events_requeue_stuck() -> int:
    """Periodic: events left PROCESSING by a worker that died are queued again."""
    from madoguchi.channels.line.tasks import process_inbound_event

    cutoff = timezone.now() - timedelta(seconds=settings.EVENT_STUCK_SECONDS)
    stuck = list(
        InboundEvent.objects.filter(status=InboundEvent.Status.PROCESSING, started_at__lt=cutoff).values_list(
            "webhook_event_id", flat=True
        )[:1000]
    )
    requeued = 0
    for webhook_event_id in stuck:
        with transaction.atomic():
            if InboundEvent.objects.filter(
                webhook_event_id=webhook_event_id,
                status=InboundEvent.Status.PROCESSING,
                started_at__lt=cutoff,
            ).update(status=InboundEvent.Status.RETRYING, last_error="worker stopped while processing"):
                process_inbound_event.enqueue(webhook_event_id)
                requeued += 1
    if requeued:
        logger.warning("re-queued %s events left by a stopped worker", requeued)
    return requeued


def events_replay(*, event_ids: list[str] | None = None, failed: bool = False) -> int:
    """Queue FAILED (or named) events again with a fresh set of tries; return how many."""
    from madoguchi.channels.line.tasks import process_inbound_event

    events = InboundEvent.objects.exclude(status=InboundEvent.Status.PROCESSING)
    if event_ids is not None:
        events = events.filter(webhook_event_id__in=event_ids)
    elif failed:
        events = events.filter(status=InboundEvent.Status.FAILED)
    else:
        return 0
    replayed = 0
    for webhook_event_id in events.values_list("webhook_event_id", flat=True):
        with transaction.atomic():
            InboundEvent.objects.filter(webhook_event_id=webhook_event_id).update(
                status=InboundEvent.Status.QUEUED, attempts=0, processed_at=None
            )
            process_inbound_event.enqueue(webhook_event_id)
        replayed += 1
    return replayed


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
