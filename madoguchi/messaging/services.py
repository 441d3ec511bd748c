"""Writes about segments and deliveries. Each is atomic and leaves an audit entry.

A delivery goes draft → 承認待ち → 承認済み (scheduled) → 配信中 → 完了; it may be cancelled
until its last batch is sent. An emergency delivery needs a second person's approval, goes
before anything else and ignores topics and interests, never blocks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.channels.base import ChannelError, Quota, transport_for
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.messaging.content import content_messages, content_validate, variant_for
from madoguchi.messaging.models import Delivery, DeliveryBatch, DeliveryRun, MessageTemplate, Segment
from madoguchi.messaging.segments import conditions_validate
from madoguchi.messaging.sending import (
    EMERGENCY_PRIORITY,
    _task_priority,
    run_finish_if_done,
    run_method,
    run_recipients,
)
from madoguchi.residents.models import Interest


class DeliveryError(ValueError):
    """A step staff cannot take now; the message says why, in Japanese."""


class SameApproverError(DeliveryError):
    pass


@transaction.atomic
def segment_save(
    *,
    actor: AbstractBaseUser,
    name: str,
    conditions: Any,
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    tree = conditions_validate(conditions)
    name = name.strip()[:100]
    if not name:
        raise DeliveryError(_("セグメントの名前を入れてください。"))
    created = segment is None
    if segment is None:
        segment = Segment(created_by=actor)  # type: ignore[misc]
    segment.name = name
    segment.description = description.strip()[:300]
    segment.conditions = tree
    segment.save()
    audit_record(
        action="messaging.segment.created" if created else "messaging.segment.changed",
        actor=actor,
        obj=segment,
        data={"conditions": tree},
    )
    return segment


@transaction.atomic
def template_save(*, actor: AbstractBaseUser, name: str, content: Any) -> MessageTemplate:
    content = content_validate(content)
    name = name.strip()[:100]
    if not name:
        raise DeliveryError(_("テンプレートの名前を入れてください。"))
    template, created = MessageTemplate.objects.update_or_create(
        name=name, defaults={"content": content, "created_by": actor}
    )
    audit_record(action="messaging.template.saved", actor=actor, obj=template, data={"created": created})
    return template


@transaction.atomic
def delivery_save(
    *,
    actor: AbstractBaseUser,
    channel: Channel,
    title: str,
    content: Any,
    target: str = Delivery.Target.SEGMENT,
    segment: Segment | None = None,
    topic: Interest | None = None,
    is_emergency: bool = False,
    recipient_filter: str = "",
    scheduled_at: datetime | None = None,
    recurrence: str = "",
    recurrence_until: date | None = None,
    delivery: Delivery | None = None,
) -> Delivery:
    """Create or change a delivery. A change to one waiting for approval sends it back to draft:
    an approver must see what goes out."""
    content = content_validate(content)
    title = title.strip()[:200]
    if not title:
        raise DeliveryError(_("件名を入れてください。"))
    if target == Delivery.Target.SEGMENT and segment is None:
        raise DeliveryError(_("配信先のセグメントを選んでください。"))
    if recurrence and recurrence not in Delivery.Recurrence.values:
        raise DeliveryError(_("繰り返しの指定が正しくありません。"))
    if recurrence and is_emergency:
        raise DeliveryError(_("緊急配信は繰り返せません。"))
    if scheduled_at is not None and scheduled_at < timezone.now() - timedelta(minutes=1):
        raise DeliveryError(_("配信日時が過ぎています。"))
    if delivery is not None and not delivery.editable:
        raise DeliveryError(_("承認された配信は変更できません。中止してから作り直してください。"))
    created = delivery is None
    if delivery is None:
        delivery = Delivery(created_by=actor)  # type: ignore[misc]
    delivery.channel = channel
    delivery.title = title
    delivery.content = content
    delivery.target = target
    delivery.segment = segment if target == Delivery.Target.SEGMENT else None
    delivery.topic = topic
    delivery.is_emergency = is_emergency
    delivery.recipient_filter = recipient_filter[:100]
    delivery.scheduled_at = scheduled_at
    delivery.recurrence = recurrence
    delivery.recurrence_until = recurrence_until if recurrence else None
    delivery.status = Delivery.Status.DRAFT
    delivery.save()
    audit_record(
        action="messaging.delivery.created" if created else "messaging.delivery.changed",
        actor=actor,
        obj=delivery,
        data={"emergency": is_emergency, "target": target, "segment": segment.pk if segment else None},
    )
    return delivery


@transaction.atomic
def delivery_submit(delivery: Delivery, *, actor: AbstractBaseUser) -> Delivery:
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status != Delivery.Status.DRAFT:
        raise DeliveryError(_("下書きだけを承認に回せます。"))
    delivery.status = Delivery.Status.PENDING_APPROVAL
    delivery.submitted_at = timezone.now()
    delivery.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_record(action="messaging.delivery.submitted", actor=actor, obj=delivery)
    return delivery


@transaction.atomic
def delivery_approve(delivery: Delivery, *, actor: AbstractBaseUser) -> Delivery:
    """Approve: it goes at its time (now when it has none). An emergency needs someone other
    than its author."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status != Delivery.Status.PENDING_APPROVAL:
        raise DeliveryError(_("承認待ちの配信ではありません。"))
    if delivery.is_emergency and delivery.created_by_id == actor.pk:
        raise SameApproverError(_("緊急配信は、作成者とは別の職員が承認してください。"))
    now = timezone.now()
    delivery.status = Delivery.Status.APPROVED
    delivery.approved_by = actor  # type: ignore[assignment]
    delivery.approved_at = now
    delivery.next_run_at = max(delivery.scheduled_at or now, now)
    delivery.save(update_fields=["status", "approved_by", "approved_at", "next_run_at", "updated_at"])
    audit_record(action="messaging.delivery.approved", actor=actor, obj=delivery)
    if delivery.next_run_at <= now:
        run_start(delivery)
    return delivery


@transaction.atomic
def delivery_send_at_once(delivery: Delivery, *, actor: AbstractBaseUser, reason: str) -> Delivery:
    """Approve and start a draft a feature composed itself, with no second person: a safety
    confirmation is a fixed question with answer buttons, no staff-written text, and must go out
    within a minute (like the disaster switch). The feature's confirmation page, this audit entry
    and its reason are the safeguards. Staff-written deliveries go through delivery_approve."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status != Delivery.Status.DRAFT:
        raise DeliveryError(_("下書きだけをすぐに配信できます。"))
    now = timezone.now()
    delivery.status = Delivery.Status.APPROVED
    delivery.approved_by = actor  # type: ignore[assignment]
    delivery.approved_at = now
    delivery.next_run_at = now
    delivery.save(update_fields=["status", "approved_by", "approved_at", "next_run_at", "updated_at"])
    audit_record(action="messaging.delivery.sent_at_once", actor=actor, obj=delivery, reason=reason[:500])
    run_start(delivery)
    return delivery


@transaction.atomic
def delivery_return(delivery: Delivery, *, actor: AbstractBaseUser, reason: str) -> Delivery:
    """The approver sends it back to its author, saying why."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status != Delivery.Status.PENDING_APPROVAL:
        raise DeliveryError(_("承認待ちの配信ではありません。"))
    delivery.status = Delivery.Status.DRAFT
    delivery.save(update_fields=["status", "updated_at"])
    audit_record(action="messaging.delivery.returned", actor=actor, obj=delivery, reason=reason[:500])
    return delivery


@transaction.atomic
def delivery_cancel(delivery: Delivery, *, actor: AbstractBaseUser) -> Delivery:
    """Stop it: no batch that is not yet on its way to LINE is sent, waiting or already claimed
    by a sender (senders look again just before each request). A request already made still
    arrives and is counted as sent."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status in (Delivery.Status.DONE, Delivery.Status.CANCELLED):
        raise DeliveryError(_("この配信はもう中止できません。"))
    runs = DeliveryRun.objects.filter(
        delivery=delivery, status__in=[DeliveryRun.Status.PREPARING, DeliveryRun.Status.SENDING]
    )
    stopped = list(runs.values_list("pk", flat=True))
    runs.update(status=DeliveryRun.Status.CANCELLED, finished_at=timezone.now())
    cancelled = DeliveryBatch.objects.filter(
        run_id__in=stopped, state__in=[DeliveryBatch.State.PENDING, DeliveryBatch.State.SENDING]
    ).update(state=DeliveryBatch.State.CANCELLED)
    for run_id in stopped:
        run_finish_if_done(run_id)  # a cancelled run keeps the figures of what went out
    delivery.status = Delivery.Status.CANCELLED
    delivery.cancelled_by = actor  # type: ignore[assignment]
    delivery.next_run_at = None
    delivery.save(update_fields=["status", "cancelled_by", "next_run_at", "updated_at"])
    audit_record(
        action="messaging.delivery.cancelled",
        actor=actor,
        obj=delivery,
        data={"batches_cancelled": cancelled},
    )
    return delivery


def _next_occurrence(delivery: Delivery, previous: datetime, now: datetime) -> datetime | None:
    """The time after `previous` (the run starting now was planned for it) that a recurring
    delivery goes again; None when it does not recur or its end date has passed."""
    step = {
        Delivery.Recurrence.DAILY: relativedelta(days=1),
        Delivery.Recurrence.WEEKLY: relativedelta(weeks=1),
        Delivery.Recurrence.MONTHLY: relativedelta(months=1),
    }.get(Delivery.Recurrence(delivery.recurrence))
    if step is None:
        return None
    following = previous + step
    while following <= now:  # the worker was down for a while: skip, do not send in a burst
        following += step
    if delivery.recurrence_until and timezone.localdate(following) > delivery.recurrence_until:
        return None
    return following


@transaction.atomic
def run_start(delivery: Delivery) -> DeliveryRun:
    """Begin one sending of an approved delivery: a run is created and its task queued."""
    from madoguchi.messaging.tasks import deliver_run

    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    number = (delivery.runs.aggregate(n=Max("number"))["n"] or 0) + 1
    run = DeliveryRun.objects.create(
        delivery=delivery,
        number=number,
        method=run_method(delivery),
        priority=EMERGENCY_PRIORITY if delivery.is_emergency else 0,
        aggregation_unit=DeliveryRun.aggregation_unit_for(delivery.pk, number),
    )
    now = timezone.now()
    delivery.status = Delivery.Status.SENDING
    delivery.next_run_at = _next_occurrence(delivery, delivery.next_run_at or now, now)
    delivery.save(update_fields=["status", "next_run_at", "updated_at"])
    audit_record(action="messaging.run.started", obj=delivery, data={"run": number, "method": run.method})
    deliver_run.using(priority=_task_priority(run)).enqueue(run.pk)
    return run


def deliveries_due() -> int:
    """Periodic: start every approved delivery whose time has come."""
    started = 0
    due = Delivery.objects.filter(status=Delivery.Status.APPROVED, next_run_at__lte=timezone.now())
    for delivery in due.order_by("-is_emergency", "next_run_at"):
        run_start(delivery)
        started += 1
    return started


def delivery_estimate(delivery: Delivery) -> int:
    """How many residents it would reach now."""
    return int(run_recipients(delivery).count())


def quota_warning(delivery: Delivery, recipients: int) -> str:
    """A warning when this delivery would take the channel past this month's message limit.

    LINE counts a push or multicast per recipient: one request of up to five message objects to
    one resident is one message, whatever the number of bubbles (PLATFORM-FACTS "Message
    counting")."""
    try:
        quota: Quota = transport_for(delivery.channel).message_quota(delivery.channel)
    except ChannelError:
        return _("今月の送信上限を LINE から取得できませんでした。")
    if quota.limit is None:
        return ""
    needed = recipients
    left = quota.limit - quota.used
    if needed > left:
        return _("今月の送信上限を超えます: 残り %(left)s 通に対し、この配信は約 %(needed)s 通です。") % {
            "left": f"{max(left, 0):,}",
            "needed": f"{needed:,}",
        }
    return ""


def delivery_test_send(
    delivery: Delivery, *, actor: AbstractBaseUser, line_user_id: str, language: str
) -> None:
    """Send the delivery, in one language, to a staff member's own LINE account."""
    if not line_user_id:
        raise DeliveryError(_("テスト送信先の LINE アカウントが設定されていません。"))
    variant = variant_for(delivery.content, language)
    messages = content_messages(
        delivery.content, variant, {"name": _("（お名前）"), "district": _("（地区）")}
    )
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    transport_for(delivery.channel).push(
        delivery.channel,
        user_id=line_user_id,
        messages=messages,
        dedupe_key=f"delivery-test:{delivery.pk}:{stamp}",
    )
    audit_record(action="messaging.delivery.test_sent", actor=actor, obj=delivery, data={"language": variant})


def run_insight_refresh(run: DeliveryRun) -> DeliveryRun:
    """Ask LINE for the run's opened / clicked figures (LINE counts them for some days)."""
    channel = run.delivery.channel
    insight = transport_for(channel).delivery_insight(
        channel,
        sent_on=timezone.localdate(run.started_at),
        request_id=run.line_request_id or None,
        aggregation_unit=None if run.line_request_id else (run.aggregation_unit or None),
    )
    run.insight_checked_at = timezone.now()
    if insight is not None:
        run.opened = insight.opened
        run.clicked = insight.clicked
    run.save(update_fields=["opened", "clicked", "insight_checked_at"])
    return run


def runs_insight_refresh() -> int:
    """Periodic: figures for runs finished in the last two weeks (cancelled ones too, for what
    they sent), once a day each."""
    since = timezone.now() - timedelta(days=14)
    checked = 0
    for run in (
        DeliveryRun.objects.filter(finished_at__gte=since)
        .filter(Q(status=DeliveryRun.Status.DONE) | Q(status=DeliveryRun.Status.CANCELLED, sent__gt=0))
        .select_related("delivery__channel")
    ):
        if run.insight_checked_at and run.insight_checked_at > timezone.now() - timedelta(hours=20):
            continue
        try:
            run_insight_refresh(run)
            checked += 1
        except ChannelError:
            continue
    return checked
