"""Step deliveries: messages some days after a resident follows or registers, and series counted
from a child's birthdate (4か月児健診, 予防接種 …). Each step reaches a resident (for a child) once.

A periodic job sends what is due; a resident who blocked the account, or no longer matches the
sequence's segment, is skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from madoguchi.channels.base import ChannelError, transport_for
from madoguchi.messaging.content import content_messages, variant_for
from madoguchi.messaging.models import Step, StepEnrollment, StepSend, StepSequence
from madoguchi.messaging.segments import segment_residents
from madoguchi.residents.models import Child, Resident

logger = logging.getLogger(__name__)

# A birthdate step missed (the worker was down) is still sent for this many days.
CATCH_UP_DAYS = 7


# Enrolments looked at per sequence and run of the job (the most overdue first).
STEP_CHUNK = 5000


def _enroll(resident: Resident, trigger: str) -> None:
    now = timezone.now()
    for sequence in StepSequence.objects.filter(
        channel_id=resident.channel_id, trigger=trigger, is_active=True
    ):
        StepEnrollment.objects.get_or_create(
            sequence=sequence, resident=resident, defaults={"anchored_at": now, "next_due_at": now}
        )


def steps_on_follow(resident: Resident) -> None:
    _enroll(resident, StepSequence.Trigger.FOLLOW)


def steps_on_registration(resident: Resident, first_time: bool) -> None:
    if first_time:
        _enroll(resident, StepSequence.Trigger.REGISTRATION)


def step_due_at(step: Step, anchor: datetime) -> datetime:
    """Day 0 is sent at once; later steps on their day at the step's time."""
    if step.months == 0 and step.days == 0:
        return anchor
    day = timezone.localtime(anchor).date() + relativedelta(months=step.months, days=step.days)
    return timezone.make_aware(datetime.combine(day, step.send_time))


def enrollments_recheck(sequence: StepSequence) -> int:
    """A sequence's steps changed: each unfinished enrolment is looked at again by the next run
    (which sends only what is due and sets when the next step is)."""
    unfinished = StepEnrollment.objects.filter(sequence=sequence, finished=False)
    return unfinished.update(next_due_at=F("anchored_at"))


SENT, SETTLED, RETRY = "sent", "settled", "retry"


def _send(step: Step, resident: Resident, child: Child | None) -> str:
    """Send one step once: the StepSend row is written first, so a crash never sends it twice
    (the dedupe key covers a retry of the same row). SENT, SETTLED (sent before, or refused for
    good) or RETRY (LINE failed for now: the row is removed so the next run tries again)."""
    try:
        with transaction.atomic():
            StepSend.objects.create(step=step, resident=resident, child=child)
    except IntegrityError:
        return SETTLED
    variant = variant_for(step.content, resident.reply_language)
    params = {"name": resident.display_name, "district": resident.district.name if resident.district else ""}
    try:
        transport_for(resident.channel).push(
            resident.channel,
            user_id=resident.line_user_id,
            messages=content_messages(step.content, variant, params),
            dedupe_key=f"step:{step.pk}:{resident.pk}:{child.pk if child else 0}",
        )
    except ChannelError as exc:
        logger.warning("step %s to resident %s failed: %s", step.pk, resident.pk, exc.status)
        if exc.permanent:
            return SETTLED
        StepSend.objects.filter(step=step, resident=resident, child=child).delete()  # try next time
        return RETRY
    return SENT


def _reached(sequence: StepSequence) -> QuerySet[Resident]:
    """Residents the sequence may send to now: in its segment, never the blocked."""
    return segment_residents(sequence.channel, sequence.segment.conditions if sequence.segment else {})


def _eligible(sequence: StepSequence, resident_ids: list[int]) -> set[int]:
    return set(_reached(sequence).filter(pk__in=resident_ids).values_list("pk", flat=True))


def _sequence_send_due(sequence: StepSequence, now: datetime) -> int:
    """Send what is due of one follow/registration sequence: only enrolments whose next step is
    due are read, the most overdue first, with what they were sent in one query."""
    steps = list(sequence.steps.all())
    enrollments = list(
        StepEnrollment.objects.filter(sequence=sequence, finished=False, next_due_at__lte=now)
        .order_by("next_due_at", "pk")
        .select_related("resident__channel", "resident__district")[:STEP_CHUNK]
    )
    if not enrollments:
        return 0
    resident_ids = [e.resident_id for e in enrollments]
    done: dict[int, set[int]] = defaultdict(set)
    for resident_id, step_id in StepSend.objects.filter(
        step__sequence=sequence, resident_id__in=resident_ids, child=None
    ).values_list("resident_id", "step_id"):
        done[resident_id].add(step_id)
    eligible = _eligible(sequence, resident_ids)
    skipped: list[StepSend] = []
    by_due: dict[datetime | None, list[int]] = defaultdict(list)
    sent = 0
    for enrollment in enrollments:
        mine = done[enrollment.resident_id]
        upcoming: datetime | None = None
        for step in steps:
            if step.pk in mine:
                continue
            due = step_due_at(step, enrollment.anchored_at)
            if due > now:
                upcoming = due if upcoming is None else min(upcoming, due)
                continue
            if enrollment.resident_id in eligible:
                outcome = _send(step, enrollment.resident, None)
                sent += outcome == SENT
                if outcome == RETRY:
                    upcoming = now  # due again at the next run, behind what waited longer
                    continue
            else:
                # Blocked or outside the segment: this step is skipped, not sent later.
                skipped.append(StepSend(step=step, resident=enrollment.resident, child=None))
            mine.add(step.pk)
        by_due[upcoming].append(enrollment.pk)
    StepSend.objects.bulk_create(skipped, ignore_conflicts=True)
    # Residents who started on the same day wait for the same moment: one UPDATE per moment.
    for due_at, pks in by_due.items():
        StepEnrollment.objects.filter(pk__in=pks).update(next_due_at=due_at, finished=due_at is None)
    return sent


def steps_send_due() -> int:
    """Periodic: send every step that is due. Returns how many went out."""
    now = timezone.now()
    sent = 0
    sequences = StepSequence.objects.filter(is_active=True).select_related("channel", "segment")
    for sequence in sequences.exclude(trigger=StepSequence.Trigger.CHILD_BIRTHDATE):
        sent += _sequence_send_due(sequence, now)
    today = timezone.localdate()
    for sequence in sequences.filter(trigger=StepSequence.Trigger.CHILD_BIRTHDATE):
        for step in sequence.steps.all():
            if timezone.localtime(now).time() < step.send_time:
                continue
            newest = today - relativedelta(months=step.months, days=step.days)
            oldest = newest - timedelta(days=CATCH_UP_DAYS)
            # Only children of residents the sequence reaches (never the blocked), not yet
            # sent this step, oldest first: those it cannot reach never fill the chunk.
            children = (
                Child.objects.filter(
                    birthdate__gt=oldest,
                    birthdate__lte=newest,
                    resident__in=_reached(sequence).values("pk"),
                )
                .exclude(pk__in=StepSend.objects.filter(step=step).values("child_id"))
                .select_related("resident__channel", "resident__district")
                .order_by("birthdate", "pk")
            )
            for child in children[:STEP_CHUNK]:
                sent += _send(step, child.resident, child) == SENT
    return sent
