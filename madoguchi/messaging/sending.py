"""Sending a delivery run: fix its recipients in batches, send the batches, finish.

- **Prepare** reads the recipients in resident-id order, a chunk at a time; each chunk's batches
  and the id it reached (`prepared_through`) are written in one transaction, so a prepare that
  stopped resumes exactly where it was, and sending starts with the first chunk.
- **Send**: sender threads claim the pending batch of highest priority (emergencies first, from
  any run), send it as one multicast under the batch's dedupe key and mark it. A batch claimed by
  a worker that died is sent again under the same key: LINE answers 409 if it went out, so nobody
  gets it twice and nobody is missed.
- Requests are paced below LINE's multicast limit per channel; a 429 still backs off (client.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from madoguchi.channels.base import MULTICAST_MAX, ChannelError, transport_for
from madoguchi.core.audit import audit_record
from madoguchi.core.processes import process_gone, process_token
from madoguchi.messaging.content import content_messages, placeholders_used, variant_for
from madoguchi.messaging.models import Delivery, DeliveryBatch, DeliveryRun
from madoguchi.messaging.segments import reachable_residents, segment_residents
from madoguchi.residents.models import reply_language_for

logger = logging.getLogger(__name__)

PREPARE_CHUNK = 25_000
BATCH_MAX_ATTEMPTS = 5
EMERGENCY_PRIORITY = 100
# Runs whose batches may still go out; a cancelled run's never do.
ACTIVE_RUN = (DeliveryRun.Status.PREPARING, DeliveryRun.Status.SENDING)


# Feature apps above messaging narrow a delivery's recipients by name (Delivery.recipient_filter
# "name:argument"), registered in their AppConfig.ready(): fn(argument, residents) → residents.
RECIPIENT_FILTERS: dict[str, Callable[[str, Any], Any]] = {}


def run_recipients(delivery: Delivery) -> Any:
    """The residents this delivery reaches now (QuerySet)."""
    segment = delivery.segment if delivery.target == Delivery.Target.SEGMENT else None
    residents = segment_residents(
        delivery.channel,
        segment.conditions if segment else {},
        topic_code=delivery.topic.code if delivery.topic else None,
        emergency=delivery.is_emergency,
    )
    if delivery.recipient_filter:
        name, _sep, argument = delivery.recipient_filter.partition(":")
        narrow = RECIPIENT_FILTERS.get(name)
        # A filter that is not installed reaches nobody rather than everybody.
        residents = narrow(argument, residents) if narrow is not None else residents.none()
    return residents


def run_method(delivery: Delivery) -> str:
    """Broadcast only when it is truly the same message to every friend: all friends, no topic,
    Japanese only, no placeholders. Everything else is multicast from our own segments."""
    if (
        delivery.target == Delivery.Target.ALL
        and not delivery.topic_id
        and not delivery.recipient_filter
        and set(delivery.content) == {"ja"}
        and not placeholders_used(delivery.content)
    ):
        return DeliveryRun.Method.BROADCAST
    return DeliveryRun.Method.MULTICAST


# Prepare


def _heartbeat_fresh(run: DeliveryRun) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    return run.prepare_heartbeat is not None and run.prepare_heartbeat > stale


def run_prepare(run_id: int) -> None:
    """Write the run's batches (resuming after `prepared_through`), then mark it sending."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    claimed = (
        DeliveryRun.objects.filter(pk=run_id, status=DeliveryRun.Status.PREPARING)
        .filter(Q(prepare_heartbeat=None) | Q(prepare_heartbeat__lt=stale))
        .update(prepare_heartbeat=now)
    )
    if not claimed:
        return  # done, cancelled, or another worker is preparing it
    run = DeliveryRun.objects.select_related("delivery__channel", "delivery__segment", "delivery__topic").get(
        pk=run_id
    )
    delivery = run.delivery
    if run.method == DeliveryRun.Method.BROADCAST:
        with transaction.atomic():
            count = reachable_residents(delivery.channel).count()
            DeliveryBatch.objects.get_or_create(
                run=run,
                seq=1,
                defaults={"variant": "ja", "user_ids": "", "size": count, "priority": run.priority},
            )
            DeliveryRun.objects.filter(pk=run.pk).update(
                recipients=count, batches=1, status=DeliveryRun.Status.SENDING
            )
        return
    used = placeholders_used(delivery.content)
    fields = ["pk", "line_user_id", "language"]
    if "district" in used:
        fields.append("district__name")
    if "name" in used:
        fields.append("display_name")
    residents = run_recipients(delivery).order_by("pk").values_list(*fields)
    personal = "district" in used or "name" in used
    variant_of: dict[str, str] = {}  # a resident's language → the variant they get
    seq = run.batches
    if not personal and connection.vendor == "postgresql":
        _prepare_in_database(run, residents)
        return
    while True:
        chunk = list(residents.filter(pk__gt=run.prepared_through)[:PREPARE_CHUNK])
        if not chunk:
            break
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        params_of: dict[tuple[str, ...], dict[str, str]] = {}
        batches: list[DeliveryBatch] = []

        def flush(
            key: tuple[str, ...],
            groups: dict[tuple[str, ...], list[str]] = groups,
            params_of: dict[tuple[str, ...], dict[str, str]] = params_of,
            batches: list[DeliveryBatch] = batches,
        ) -> None:
            nonlocal seq
            seq += 1
            user_ids = groups.pop(key)
            batches.append(
                DeliveryBatch(
                    run=run,
                    seq=seq,
                    variant=key[0],
                    params=params_of[key],
                    user_ids="\n".join(user_ids),
                    size=len(user_ids),
                    priority=run.priority,
                )
            )

        for row in chunk:
            variant = variant_of.get(row[2])
            if variant is None:
                variant = variant_of[row[2]] = variant_for(delivery.content, reply_language_for(row[2]))
            if not personal:
                # The common case, a million times over: no per-resident parameter to look at.
                group = groups[(variant,)]
                group.append(row[1])
                if len(group) >= MULTICAST_MAX:
                    params_of[(variant,)] = {}
                    flush((variant,))
                continue
            params: dict[str, str] = {}
            position = 3
            if "district" in used:
                params["district"] = row[position] or ""
                position += 1
            if "name" in used:
                # Each resident's own name: a batch of one (the composer warns about it).
                params["name"] = row[position] or ""
                params["resident"] = str(row[0])
            key = (variant, *(f"{k}={v}" for k, v in sorted(params.items())))
            params_of[key] = {k: v for k, v in params.items() if k != "resident"}
            groups[key].append(row[1])
            if len(groups[key]) >= MULTICAST_MAX or "name" in used:
                flush(key)
        for key in list(groups):
            params_of.setdefault(key, {})
            flush(key)
        with transaction.atomic():
            DeliveryBatch.objects.bulk_create(batches)
            run.prepared_through = chunk[-1][0]
            run.recipients += len(chunk)
            run.batches = seq
            if not _progress_record(run):
                return
    _prepare_done(run)


def _progress_record(run: DeliveryRun) -> bool:
    """Store how far preparing got, in the chunk's transaction. False when the run was cancelled
    meanwhile: the batches just written are cancelled too."""
    updated = DeliveryRun.objects.filter(pk=run.pk, status=DeliveryRun.Status.PREPARING).update(
        prepared_through=run.prepared_through,
        recipients=run.recipients,
        batches=run.batches,
        prepare_heartbeat=timezone.now(),
    )
    if not updated:
        DeliveryBatch.objects.filter(run=run, state=DeliveryBatch.State.PENDING).update(
            state=DeliveryBatch.State.CANCELLED
        )
    return bool(updated)


def _prepare_done(run: DeliveryRun) -> None:
    DeliveryRun.objects.filter(pk=run.pk, status=DeliveryRun.Status.PREPARING).update(
        status=DeliveryRun.Status.SENDING
    )
    run_finish_if_done(run.pk)


# A chunk of recipients grouped into batches by PostgreSQL itself: a million residents' ids never
# pass through Python, whose time the sender threads need (the same grouping as the loop above,
# for content without per-resident placeholders). The residents' own query comes in as `q`.
_PREPARE_SQL = """
WITH chunk AS (
    SELECT q.pk AS id, q.line_user_id,
           CASE WHEN lower(coalesce(nullif(q.language, ''), 'ja')) = 'ja-easy' THEN %s
                WHEN split_part(lower(coalesce(nullif(q.language, ''), 'ja')), '-', 1) = ANY(%s)
                THEN split_part(lower(coalesce(nullif(q.language, ''), 'ja')), '-', 1)
                ELSE 'ja' END AS variant
    FROM ({residents}) q
    WHERE q.pk > %s
    ORDER BY q.pk
    LIMIT %s
), numbered AS (
    SELECT id, line_user_id, variant,
           (row_number() OVER (PARTITION BY variant ORDER BY id) - 1) / %s AS n
    FROM chunk
), grouped AS (
    SELECT variant, string_agg(line_user_id, E'\\n' ORDER BY id) AS user_ids, count(*) AS size,
           min(id) AS first_id
    FROM numbered
    GROUP BY variant, n
), written AS (
    INSERT INTO messaging_deliverybatch
        (run_id, seq, variant, params, user_ids, size, state, priority, attempts, error, claimed_by)
    SELECT %s, %s + row_number() OVER (ORDER BY first_id), variant, '{{}}'::jsonb, user_ids, size,
           'pending', %s, 0, '', ''
    FROM grouped
    RETURNING 1
)
SELECT (SELECT max(id) FROM chunk), (SELECT count(*) FROM chunk), (SELECT count(*) FROM written)
"""


def _prepare_in_database(run: DeliveryRun, residents: Any) -> None:
    """run_prepare's loop for PostgreSQL, chunk by chunk, resumable in the same way."""
    content = run.delivery.content
    easy = "ja-easy" if "ja-easy" in content else "ja"
    inner, inner_params = (
        residents.order_by().values_list("pk", "line_user_id", "language").query.sql_with_params()
    )
    sql = _PREPARE_SQL.format(residents=inner)
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    easy,
                    list(content),
                    *inner_params,
                    run.prepared_through,
                    PREPARE_CHUNK,
                    MULTICAST_MAX,
                    run.pk,
                    run.batches,
                    run.priority,
                ],
            )
            last, count, written = cursor.fetchone()
            if not count:
                break
            run.prepared_through = last
            run.recipients += count
            run.batches += written
            if not _progress_record(run):
                return
    _prepare_done(run)


# Send


class Pacer:
    """At most `rate` requests a second per channel from this process (shared by its threads),
    as a token bucket: a slot no sender was ready for (all waiting on LINE or the database) may
    be used a little late, up to `catch_up` of them, instead of being lost. Any second then holds
    at most rate + catch_up requests (195 + 3 under LINE's 200)."""

    def __init__(self, rate: float, catch_up: int = 3):
        self.interval = 1.0 / rate
        self.slack = catch_up * self.interval
        self.lock = threading.Lock()
        self.next_at: dict[int, float] = {}

    def wait(self, channel_id: int) -> None:
        with self.lock:
            now = time.monotonic()
            at = max(now - self.slack, self.next_at.get(channel_id, now))
            self.next_at[channel_id] = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


_pacer = Pacer(settings.DELIVERY_MULTICAST_PER_SECOND)


# Batches a sender thread claims at once: fewer round trips a batch, and an emergency still
# waits at most this many sends of each thread.
CLAIM_SIZE = 4


class UrgentOnItsWay(Exception):
    """An emergency's batch is still on its way: less urgent batches wait until it has gone."""


def _urgent_on_its_way(stamp: datetime) -> bool:
    """An emergency batch another sender holds: claimed (and not stale), or being claimed right
    now (still pending to us, as its row is locked and skipped)."""
    recent = stamp - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    State = DeliveryBatch.State
    return (
        DeliveryBatch.objects.filter(priority__gte=EMERGENCY_PRIORITY, run__status__in=ACTIVE_RUN)
        .filter(Q(state=State.PENDING) | Q(state=State.SENDING, claimed_at__gte=recent))
        .exists()
    )


def batches_claim(limit: int = CLAIM_SIZE, min_priority: int | None = None) -> list[DeliveryBatch]:
    """Up to `limit` pending batches of highest priority (at least `min_priority`), now ours.

    Raises UrgentOnItsWay rather than hand out a less urgent batch while an emergency's batch is
    still being sent: a resident in both must get the emergency first, and another thread's
    request can overtake one already claimed."""
    stamp = timezone.now()
    with transaction.atomic():
        rows = list(
            DeliveryBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=DeliveryBatch.State.PENDING, run__status__in=ACTIVE_RUN)
            .filter(priority__gte=min_priority if min_priority is not None else -32768)
            .order_by("-priority", "id")
            .values_list("id", "priority")[:limit]
        )
        if not rows:
            return []
        top = rows[0][1]
        if top < EMERGENCY_PRIORITY and _urgent_on_its_way(stamp):
            raise UrgentOnItsWay
        # An emergency's batches go one to a thread, so that all of them are on their way at once
        # (before any thread turns to a less urgent batch); others go in fours of one priority.
        ids = [rows[0][0]] if top >= EMERGENCY_PRIORITY else [pk for pk, priority in rows if priority == top]
        DeliveryBatch.objects.filter(pk__in=ids, state=DeliveryBatch.State.PENDING).update(
            state=DeliveryBatch.State.SENDING, claimed_at=stamp, claimed_by=process_token()
        )
    # Rows locked above are ours; `claimed_at` tells them apart where locks are not row locks
    # (SQLite), should another process have taken one first.
    claimed = DeliveryBatch.objects.filter(pk__in=ids, state=DeliveryBatch.State.SENDING, claimed_at=stamp)
    return list(claimed.select_related("run__delivery__channel").order_by("-priority", "id"))


def batch_claim(min_priority: int | None = None) -> DeliveryBatch | None:
    """The pending batch of highest priority (at least `min_priority`), now ours (or None)."""
    try:
        claimed = batches_claim(1, min_priority)
    except UrgentOnItsWay:
        return None
    return claimed[0] if claimed else None


def batches_release(batches: list[DeliveryBatch]) -> None:
    """Claimed batches a sender stopped before sending go back to pending at once."""
    held = DeliveryBatch.objects.filter(
        pk__in=[batch.pk for batch in batches], state=DeliveryBatch.State.SENDING
    )
    held.filter(run__status__in=ACTIVE_RUN).update(state=DeliveryBatch.State.PENDING)
    held.exclude(run__status__in=ACTIVE_RUN).update(state=DeliveryBatch.State.CANCELLED)


def _still_to_send(batch: DeliveryBatch) -> bool:
    """The batch is still ours and its run was not cancelled (asked just before LINE is called:
    a cancel stops every batch not yet on its way, even one a sender already holds)."""
    # Asked before every request of a fan-out: plain SQL spares the ORM building the query anew
    # each time (a twentieth of a sender's CPU at a million residents).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM messaging_deliverybatch b JOIN messaging_deliveryrun r ON r.id = b.run_id"
            " WHERE b.id = %s AND b.state = %s AND r.status IN (%s, %s)",
            [batch.pk, DeliveryBatch.State.SENDING, *ACTIVE_RUN],
        )
        return cursor.fetchone() is not None


def _drop_if_cancelled(batch: DeliveryBatch) -> None:
    DeliveryBatch.objects.filter(pk=batch.pk, state=DeliveryBatch.State.SENDING).exclude(
        run__status__in=ACTIVE_RUN
    ).update(state=DeliveryBatch.State.CANCELLED)


def batch_send(batch: DeliveryBatch) -> bool:
    """Send one claimed batch; True when it went out (or had gone out before a crash).

    Nothing is sent when the run was cancelled (or the batch taken from us) since it was claimed.
    """
    run = batch.run
    delivery = run.delivery
    channel = delivery.channel
    messages = content_messages(delivery.content, batch.variant, batch.params)
    transport = transport_for(channel)
    attempts = batch.attempts + 1
    try:
        if run.method == DeliveryRun.Method.BROADCAST:
            if not _still_to_send(batch):
                _drop_if_cancelled(batch)
                return False
            request_id = transport.broadcast(channel, messages=messages, dedupe_key=batch.dedupe_key)
            DeliveryRun.objects.filter(pk=run.pk).update(line_request_id=request_id)
        else:
            _pacer.wait(channel.pk)
            if not _still_to_send(batch):
                _drop_if_cancelled(batch)
                return False
            transport.multicast(
                channel,
                user_ids=batch.user_ids.split("\n"),
                messages=messages,
                dedupe_key=batch.dedupe_key,
                aggregation_unit=run.aggregation_unit or None,
                recorded=False,  # the batch is the record: state, attempts, recipients
            )
    except ChannelError as exc:
        final = exc.permanent or attempts >= BATCH_MAX_ATTEMPTS
        # Conditional: a batch cancelled while its request was refused stays cancelled.
        DeliveryBatch.objects.filter(
            pk=batch.pk, state=DeliveryBatch.State.SENDING, run__status__in=ACTIVE_RUN
        ).update(
            state=DeliveryBatch.State.FAILED if final else DeliveryBatch.State.PENDING,
            attempts=attempts,
            error=exc.message[:500],
        )
        _drop_if_cancelled(batch)
        logger.warning("delivery batch %s failed (attempt %s): %s", batch.dedupe_key, attempts, exc.status)
        return False
    # Unconditional: it went out, even if the run was cancelled while LINE was answering.
    DeliveryBatch.objects.filter(pk=batch.pk).update(
        state=DeliveryBatch.State.SENT, attempts=attempts, error=""
    )
    return True


def _higher_priority_waiting(than: int) -> bool:
    """A run more urgent than what we are sending is waiting to be prepared by its own task."""
    return DeliveryRun.objects.filter(status=DeliveryRun.Status.PREPARING, priority__gt=than).exists()


@dataclass
class PumpResult:
    sent: int  # batches that went out
    interrupted: bool  # stopped with work left: out of time, or giving way to an emergency


def pump(run_id: int | None = None, *, seconds: float | None = None) -> PumpResult:
    """Prepare `run_id` (if it needs it) while sending every pending batch, most urgent first,
    with DELIVERY_SENDERS threads, for at most `seconds`.

    It stops early when a more urgent run is waiting to be prepared, so that run's task (which
    has a higher task priority) goes next; the caller then queues a continuation.
    """
    deadline = time.monotonic() + (seconds or settings.DELIVERY_SLICE_SECONDS)
    senders = settings.DELIVERY_SENDERS if connection.vendor == "postgresql" else 1
    preparing = threading.Event()
    my_priority = 0
    if run_id is not None:
        run = DeliveryRun.objects.filter(pk=run_id).first()
        my_priority = run.priority if run else 0
    stop = threading.Event()
    sent = [0]
    touched: set[int] = set()
    lock = threading.Lock()

    def in_thread(work: Callable[[], None]) -> Callable[[], None]:
        def wrapped() -> None:
            try:
                work()
            finally:
                close_old_connections()
                connection.close()

        return wrapped

    def prepare() -> None:
        try:
            if run_id is not None:
                run_prepare(run_id)
        except Exception:
            logger.exception("preparing delivery run %s failed; it resumes later", run_id)
        finally:
            preparing.clear()

    def send_loop() -> None:
        if connection.vendor == "postgresql":
            # A batch's state lost in a database crash is only sent again under the same retry
            # key (a no-op at LINE): no need to wait for each commit to reach the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
        checked = 0.0  # look for a waiting emergency before the first batch, then every second
        claimed: list[DeliveryBatch] = []
        try:
            while not stop.is_set():
                if time.monotonic() > deadline:
                    stop.set()
                    return
                if time.monotonic() - checked > 1.0:
                    checked = time.monotonic()
                    if _higher_priority_waiting(my_priority):
                        stop.set()
                        return
                if not claimed:
                    # While an emergency is still being prepared, its senders wait for its
                    # batches rather than take less urgent ones.
                    try:
                        claimed = batches_claim(
                            min_priority=my_priority if preparing.is_set() and my_priority > 0 else None
                        )
                    except UrgentOnItsWay:
                        time.sleep(0.02)
                        continue
                    if not claimed:
                        if preparing.is_set():
                            time.sleep(0.02)
                            continue
                        return
                batch = claimed.pop(0)
                ok = batch_send(batch)
                with lock:
                    touched.add(batch.run_id)
                    sent[0] += ok
        finally:
            if claimed:
                batches_release(claimed)

    if run_id is not None and senders == 1:
        # SQLite takes one writer at a time: prepare first, then send.
        prepare()
    elif run_id is not None:
        preparing.set()
    with ThreadPoolExecutor(max_workers=senders + 1, thread_name_prefix="madoguchi-delivery") as pool:
        futures = []
        if preparing.is_set():
            futures.append(pool.submit(in_thread(prepare)))
        futures += [pool.submit(in_thread(send_loop)) for _ in range(senders)]
        for future in futures:
            future.result()
    for touched_run in touched | ({run_id} if run_id else set()):
        run_finish_if_done(touched_run)
    return PumpResult(sent=sent[0], interrupted=stop.is_set())


def next_pending_batch() -> DeliveryBatch | None:
    pending = DeliveryBatch.objects.filter(
        state=DeliveryBatch.State.PENDING, run__status__in=ACTIVE_RUN
    ).select_related("run")
    return pending.order_by("-priority", "id").first()


# Finish


def run_figures(run_id: int) -> dict[str, int]:
    """Recipients of the run's sent and failed batches."""
    figures: dict[str, int] = DeliveryBatch.objects.filter(run_id=run_id).aggregate(
        sent=Sum("size", filter=Q(state=DeliveryBatch.State.SENT), default=0),
        failed=Sum("size", filter=Q(state=DeliveryBatch.State.FAILED), default=0),
        failed_batches=Count("id", filter=Q(state=DeliveryBatch.State.FAILED)),
    )
    return figures


def run_finish_if_done(run_id: int) -> bool:
    """Close a run whose batches are all sent or failed; record its figures."""
    run = DeliveryRun.objects.filter(pk=run_id).select_related("delivery").first()
    if run is not None and run.status == DeliveryRun.Status.CANCELLED:
        # What went out before (or while) it was cancelled still counts.
        figures = run_figures(run_id)
        DeliveryRun.objects.filter(pk=run_id).update(sent=figures["sent"], failed=figures["failed"])
        return False
    if run is None or run.status != DeliveryRun.Status.SENDING:
        return False
    open_batches = DeliveryBatch.objects.filter(
        run_id=run_id, state__in=[DeliveryBatch.State.PENDING, DeliveryBatch.State.SENDING]
    ).exists()
    if open_batches:
        return False
    figures = run_figures(run_id)
    with transaction.atomic():
        done = DeliveryRun.objects.filter(pk=run_id, status=DeliveryRun.Status.SENDING).update(
            status=DeliveryRun.Status.DONE,
            sent=figures["sent"],
            failed=figures["failed"],
            finished_at=timezone.now(),
        )
        if not done:
            return False
        delivery = Delivery.objects.select_for_update().get(pk=run.delivery_id)
        if delivery.status == Delivery.Status.SENDING:
            delivery.status = Delivery.Status.APPROVED if delivery.next_run_at else Delivery.Status.DONE
            delivery.save(update_fields=["status", "updated_at"])
        audit_record(
            action="messaging.run.finished",
            obj=delivery,
            data={"run": run.number, **figures},
        )
    return True


def claims_release_dead() -> int:
    """Batches held by a dead worker go back to pending: at once when it was of this machine
    (its process is gone), else once the claim is stale. Returns how many. Those of a cancelled
    run are cancelled instead, never sent."""
    sending = DeliveryBatch.objects.filter(state=DeliveryBatch.State.SENDING)
    claimers = sending.order_by().values_list("claimed_by", flat=True).distinct()
    gone = [claimer for claimer in claimers if claimer and process_gone(claimer)]
    stale = timezone.now() - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    dead = sending.filter(Q(claimed_at__lt=stale) | Q(claimed_by__in=gone))
    dead.exclude(run__status__in=ACTIVE_RUN).update(state=DeliveryBatch.State.CANCELLED)
    return dead.filter(run__status__in=ACTIVE_RUN).update(state=DeliveryBatch.State.PENDING)


def runs_resume() -> int:
    """Periodic, and at every worker's start: batches held by a dead worker go back to pending;
    runs with work left and nobody on them get a task. Returns how many pumps were queued."""
    from madoguchi.messaging.tasks import deliver_run

    claims_release_dead()
    queued = 0
    for run in DeliveryRun.objects.filter(status=DeliveryRun.Status.PREPARING):
        if not _heartbeat_fresh(run):
            deliver_run.using(priority=_task_priority(run)).enqueue(run.pk)
            queued += 1
    recent = timezone.now() - timedelta(seconds=settings.DELIVERY_STALE_SECONDS)
    busy = DeliveryBatch.objects.filter(state=DeliveryBatch.State.SENDING, claimed_at__gte=recent).exists()
    if not queued and not busy:
        waiting = next_pending_batch()
        if waiting is not None:
            deliver_run.using(priority=_task_priority(waiting.run)).enqueue(waiting.run_id)
            queued += 1
    for run in DeliveryRun.objects.filter(status=DeliveryRun.Status.SENDING):
        run_finish_if_done(run.pk)
    return queued


def _task_priority(run: DeliveryRun) -> int:
    # django-tasks priorities run from -100 to 100; the worker takes higher first.
    return 50 if run.priority >= EMERGENCY_PRIORITY else 0
