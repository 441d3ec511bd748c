"""Writes: shelter imports and the status staff set, safety confirmations, alert feeds. Each is one
transaction with its audit entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core.audit import audit_record
from madoguchi.disaster.feeds import redacted
from madoguchi.disaster.hazards import HAZARDS
from madoguchi.disaster.importers import parse
from madoguchi.disaster.models import AlertFeed, SafetyAnswer, SafetyConfirmation, Shelter
from madoguchi.disaster.tasks import poll_alert_feed
from madoguchi.messaging.models import Delivery
from madoguchi.messaging.services import delivery_save, delivery_send_at_once
from madoguchi.residents.models import District


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def shelter_import(data: bytes, name: str, *, fmt: str | None = None, actor: Any = None) -> ImportReport:
    """Import a GSI or standard-dataset CSV: new sites are added (未開設), known ones (same source
    and ID) updated; a site's status is kept, so an import mid-disaster closes nothing. Refused
    rows are in the report's errors. Raises ImportRefused for a file that cannot be used."""
    parsed = parse(data, name, fmt)
    report = ImportReport(errors=list(parsed.errors))
    with transaction.atomic():
        existing = {shelter.key: shelter for shelter in Shelter.objects.filter(source=parsed.source)}
        create, update = [], []
        now = timezone.now()
        for row in parsed.rows:
            values: dict[str, Any] = {
                "kind": row.kind,
                "name": row.name,
                "address": row.address,
                "latitude": row.latitude,
                "longitude": row.longitude,
                "capacity": row.capacity,
                "capacity_text": row.capacity_text,
                "community": row.community,
                "is_active": True,
                **{hazard.code: hazard.code in row.hazards for hazard in HAZARDS},
            }
            shelter = existing.get(row.key)
            if shelter is None:
                create.append(Shelter(source=parsed.source, key=row.key, **values))
            else:
                for attribute, value in values.items():
                    setattr(shelter, attribute, value)
                shelter.updated_at = now
                update.append(shelter)
        Shelter.objects.bulk_create(create, batch_size=500)
        Shelter.objects.bulk_update(update, [*values_fields(), "updated_at"], batch_size=500)
        report.created, report.updated = len(create), len(update)
        audit_record(
            action="disaster.shelters.imported",
            actor=actor,
            object_type="disaster.Shelter",
            data={
                "file": name[:100],
                "source": parsed.source,
                "created": report.created,
                "updated": report.updated,
                "refused": len(report.errors),
            },
        )
    return report


def values_fields() -> list[str]:
    return [
        "kind",
        "name",
        "address",
        "latitude",
        "longitude",
        "capacity",
        "capacity_text",
        "community",
        "is_active",
        *(hazard.code for hazard in HAZARDS),
    ]


def shelter_status_set(shelter: Shelter, *, status: str, actor: Any, ip_address: str | None = None) -> bool:
    """Set 未開設 / 開設 / 満員. Returns False when it already was (nothing written, nothing audited)."""
    if status not in Shelter.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        locked = Shelter.objects.select_for_update().get(pk=shelter.pk)
        if locked.status == status:
            return False
        before = locked.status
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.status_changed_by = actor if getattr(actor, "pk", None) else None
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "updated_at"])
        audit_record(
            action="disaster.shelter.status_changed",
            actor=actor,
            obj=locked,
            ip_address=ip_address,
            data={"name": locked.name[:100], "from": before, "to": status},
        )
    shelter.status, shelter.status_changed_at = locked.status, locked.status_changed_at
    return True


# Safety confirmation (安否確認)


class SafetyRefused(ValueError):
    """A step staff cannot take; the message says why, in Japanese."""


def safety_confirmation_start(
    *,
    actor: Any,
    channel: Any,
    title: str,
    district_ids: list[int] | None = None,
    reask_after: timedelta | None = None,
    ip_address: str | None = None,
) -> SafetyConfirmation:
    """Start a confirmation: it goes out at once as an emergency delivery (messaging), to every
    friend or to the districts chosen. `reask_after`: non-responders are asked again once then.
    Staff confirmed on the console's page; no second person (docs/disaster.md says why)."""
    from madoguchi.disaster.safety import FILTER, safety_content, safety_recipients

    title = " ".join(title.split())[:60]
    if not title:
        raise SafetyRefused(_("件名を入れてください。"))
    if channel.is_confidential:
        raise SafetyRefused(_("相談窓口のアカウントからは送れません。"))
    ids = sorted({int(pk) for pk in district_ids or []})
    if len(ids) != District.objects.filter(pk__in=ids).count():
        raise SafetyRefused(_("地区の指定が正しくありません。"))
    with transaction.atomic():
        confirmation = SafetyConfirmation.objects.create(
            channel=channel,
            title=title,
            district_ids=ids,
            created_by=actor,
            reask_at=timezone.now() + reask_after if reask_after else None,
        )
        delivery = delivery_save(
            actor=actor,
            channel=channel,
            title=f"安否確認: {title}",
            content=safety_content(confirmation),
            target=Delivery.Target.ALL,
            is_emergency=True,
            recipient_filter=f"{FILTER}:{confirmation.pk}",
        )
        confirmation.delivery = delivery
        confirmation.save(update_fields=["delivery"])
        audit_record(
            action="disaster.safety.started",
            actor=actor,
            obj=confirmation,
            ip_address=ip_address,
            data={
                "title": title,
                "districts": ids,
                "recipients": safety_recipients(confirmation).count(),
                "reask_at": confirmation.reask_at.isoformat() if confirmation.reask_at else None,
            },
        )
        delivery_send_at_once(delivery, actor=actor, reason=f"安否確認 {confirmation.pk}")
    return confirmation


def safety_confirmation_close(
    confirmation: SafetyConfirmation, *, actor: Any, ip_address: str | None = None
) -> bool:
    """Stop taking answers (and cancel a re-ask not sent yet). False when it was closed."""
    with transaction.atomic():
        closed = SafetyConfirmation.objects.filter(
            pk=confirmation.pk, status=SafetyConfirmation.Status.OPEN
        ).update(status=SafetyConfirmation.Status.CLOSED, closed_at=timezone.now())
        if not closed:
            return False
        audit_record(action="disaster.safety.closed", actor=actor, obj=confirmation, ip_address=ip_address)
    confirmation.refresh_from_db()
    return True


def safety_answer_record(
    confirmation: SafetyConfirmation, resident: Any, *, status: str, answered_at: datetime
) -> None:
    """Keep a resident's answer (see `safety_answers_record`)."""
    safety_answers_record([(confirmation, resident, status, answered_at)])


def safety_answers_record(answers: list[tuple[SafetyConfirmation, Any, str, datetime]]) -> None:
    """Keep residents' answers (confirmation, resident, status, when they tapped): one INSERT …
    ON CONFLICT DO UPDATE for them all, the latest tap wins, so a redelivered or late older event
    cannot overwrite a newer one. No audit entry: residents' own answers are data, not staff
    actions (docs/disaster.md)."""
    latest: dict[tuple[int, int], tuple[str, datetime]] = {}
    for confirmation, resident, status, answered_at in answers:
        if status not in SafetyAnswer.Status.values:
            raise ValueError(f"unknown status {status!r}")
        key = (confirmation.pk, resident.pk)
        # One statement may not touch a row twice: of one resident's taps, the latest goes in.
        if key not in latest or latest[key][1] <= answered_at:
            latest[key] = (status, answered_at)
    if not latest:
        return
    table = connection.ops.quote_name(SafetyAnswer._meta.db_table)
    values = [
        value for (pk, resident_pk), (status, at) in latest.items() for value in (pk, resident_pk, status, at)
    ]
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(latest))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (confirmation_id, resident_id, status, answered_at) "  # noqa: S608
            f"VALUES {rows} ON CONFLICT (confirmation_id, resident_id) DO UPDATE "
            f"SET status = excluded.status, answered_at = excluded.answered_at "
            f"WHERE {table}.answered_at <= excluded.answered_at",
            values,
        )


def safety_reask_due() -> int:
    """Periodic: for each open confirmation whose re-ask time has come, send the question once
    more to those who have not answered. Claimed with a conditional UPDATE in the transaction
    that starts the delivery: once, whatever the number of workers. Returns how many."""
    from madoguchi.disaster.safety import FILTER, safety_content

    sent = 0
    due = SafetyConfirmation.objects.filter(
        status=SafetyConfirmation.Status.OPEN, reask_at__lte=timezone.now(), reasked_at=None
    )
    for confirmation in due.select_related("channel", "created_by"):
        with transaction.atomic():
            claimed = SafetyConfirmation.objects.filter(pk=confirmation.pk, reasked_at=None).update(
                reasked_at=timezone.now()
            )
            if not claimed:
                continue
            delivery = delivery_save(
                actor=confirmation.created_by,
                channel=confirmation.channel,
                title=f"安否確認(再送): {confirmation.title}",
                content=safety_content(confirmation, again=True),
                target=Delivery.Target.ALL,
                is_emergency=True,
                recipient_filter=f"{FILTER}:{confirmation.pk}:pending",
            )
            SafetyConfirmation.objects.filter(pk=confirmation.pk).update(reask_delivery=delivery)
            audit_record(action="disaster.safety.reasked", obj=confirmation)
            delivery_send_at_once(
                delivery, actor=confirmation.created_by, reason=f"安否確認 {confirmation.pk} の再送"
            )
        sent += 1
    return sent


# Alert feeds (set up in the console's 受信フィード page, or the admin site)

FEED_FIELDS = ("name", "url", "interval_seconds", "known_kinds_only", "is_active")


@transaction.atomic
def alert_feed_save(
    *, actor: Any, feed: AlertFeed | None, values: dict[str, Any], ip_address: str | None = None
) -> AlertFeed:
    """Create or change a feed from `values` (FEED_FIELDS; the model's validators apply:
    `models.feed_url_refusal`, the interval's bounds). A new URL starts afresh: the old URL's
    validators (ETag, Last-Modified), its kind and its failures are dropped. A new feed, a new URL
    or interval, or a feed enabled is polled at the periodic job's next pass. Audited
    `disaster.alert_feed.created` / `.changed` with the fields changed and the URL without its
    user, password or query."""
    created = feed is None
    if feed is None:
        feed = AlertFeed()
    before = {name: getattr(feed, name) for name in FEED_FIELDS}
    for name, value in values.items():
        if name in FEED_FIELDS:
            setattr(feed, name, value)
    changed = sorted(name for name in FEED_FIELDS if getattr(feed, name) != before[name])
    if created or "url" in changed:
        feed.etag = feed.last_modified = feed.kind = feed.last_error = ""
        feed.failures = 0
        feed.last_error_at = None
    if created or {"url", "interval_seconds", "is_active"} & set(changed):
        feed.next_poll_at = None
    feed.full_clean()
    feed.save()
    audit_record(
        action="disaster.alert_feed.created" if created else "disaster.alert_feed.changed",
        actor=actor,
        obj=feed,
        ip_address=ip_address,
        data={
            "fields": list(FEED_FIELDS) if created else changed,
            "url": redacted(feed.url),
            "interval_seconds": feed.interval_seconds,
            "is_active": feed.is_active,
        },
    )
    return feed


@transaction.atomic
def alert_feed_set_active(
    feed: AlertFeed, *, active: bool, actor: Any, ip_address: str | None = None
) -> bool:
    """Enable or disable a feed; False when it already was. Enabled, it is polled at the periodic
    job's next pass. Audited `disaster.alert_feed.enabled` / `.disabled`."""
    fields: dict[str, Any] = {"is_active": active}
    if active:
        fields["next_poll_at"] = None
    if not AlertFeed.objects.filter(pk=feed.pk, is_active=not active).update(**fields):
        return False
    audit_record(
        action="disaster.alert_feed.enabled" if active else "disaster.alert_feed.disabled",
        actor=actor,
        obj=feed,
        ip_address=ip_address,
        data={"url": redacted(feed.url)},
    )
    return True


@transaction.atomic
def alert_feed_poll_now(feed: AlertFeed, *, actor: Any, ip_address: str | None = None) -> bool:
    """Queue one poll of an enabled feed now (the worker's task, `tasks.poll_alert_feed`), and
    move its next scheduled poll one interval on, as the periodic job's claim does, so the two
    do not poll it together. False for a disabled feed. Audited `disaster.alert_feed.poll_requested`."""
    now = timezone.now()
    claimed = AlertFeed.objects.filter(pk=feed.pk, is_active=True).update(
        next_poll_at=now + timedelta(seconds=feed.interval_seconds)
    )
    if not claimed:
        return False
    poll_alert_feed.enqueue(feed.pk)  # a row in this transaction (django-tasks-db)
    audit_record(
        action="disaster.alert_feed.poll_requested",
        actor=actor,
        obj=feed,
        ip_address=ip_address,
        data={"url": redacted(feed.url)},
    )
    return True
