"""Step deliveries: messages some days after a resident follows or registers, and series counted
from a child's birthdate (4か月児健診, 予防接種 …). Each step reaches a resident (for a child) once.

A periodic job sends what is due; a resident who blocked the account, or no longer matches the
sequence's segment, is skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.channels.base import ChannelError, transport_for
from madoguchi.messaging.content import content_messages, variant_for
from madoguchi.messaging.models import Step, StepEnrollment, StepSend, StepSequence
from madoguchi.messaging.segments import segment_residents
from madoguchi.residents.models import Child, Resident

logger = logging.getLogger(__name__)

# A birthdate step missed (the worker was down) is still sent for this many days.
CATCH_UP_DAYS = 7


def _enroll(resident: Resident, trigger: str) -> None:
    for sequence in StepSequence.objects.filter(
        channel_id=resident.channel_id, trigger=trigger, is_active=True
    ):
        StepEnrollment.objects.get_or_create(
            sequence=sequence, resident=resident, defaults={"anchored_at": timezone.now()}
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


def _send(step: Step, resident: Resident, child: Child | None) -> bool:
    """Send one step once: the StepSend row is written first, so a crash never sends it twice
    (the dedupe key covers a retry of the same row)."""
    try:
        with transaction.atomic():
            StepSend.objects.create(step=step, resident=resident, child=child)
    except IntegrityError:
        return False
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
        if not exc.permanent:
            StepSend.objects.filter(step=step, resident=resident, child=child).delete()  # try next time
        return False
    return True


def _eligible(sequence: StepSequence, resident_ids: list[int]) -> set[int]:
    residents = segment_residents(sequence.channel, sequence.segment.conditions if sequence.segment else {})
    return set(residents.filter(pk__in=resident_ids).values_list("pk", flat=True))


def steps_send_due() -> int:
    """Periodic: send every step that is due. Returns how many went out."""
    now = timezone.now()
    sent = 0
    sequences = StepSequence.objects.filter(is_active=True).select_related("channel", "segment")
    for sequence in sequences.exclude(trigger=StepSequence.Trigger.CHILD_BIRTHDATE):
        steps = list(sequence.steps.all())
        enrollments = list(
            StepEnrollment.objects.filter(sequence=sequence, finished=False).select_related(
                "resident__channel", "resident__district"
            )[:5000]
        )
        eligible = _eligible(sequence, [e.resident_id for e in enrollments])
        for enrollment in enrollments:
            done = set(
                StepSend.objects.filter(step__sequence=sequence, resident=enrollment.resident).values_list(
                    "step_id", flat=True
                )
            )
            for step in steps:
                if step.pk in done or step_due_at(step, enrollment.anchored_at) > now:
                    continue
                if enrollment.resident_id in eligible:
                    sent += _send(step, enrollment.resident, None)
                else:
                    # Blocked or outside the segment: this step is skipped, not sent later.
                    StepSend.objects.get_or_create(step=step, resident=enrollment.resident, child=None)
                done.add(step.pk)
            if all(step.pk in done for step in steps):
                StepEnrollment.objects.filter(pk=enrollment.pk).update(finished=True)
    today = timezone.localdate()
    for sequence in sequences.filter(trigger=StepSequence.Trigger.CHILD_BIRTHDATE):
        for step in sequence.steps.all():
            if timezone.localtime(now).time() < step.send_time:
                continue
            newest = today - relativedelta(months=step.months, days=step.days)
            oldest = newest - timedelta(days=CATCH_UP_DAYS)
            children = list(
                Child.objects.filter(
                    birthdate__gt=oldest,
                    birthdate__lte=newest,
                    resident__channel=sequence.channel,
                )
                .exclude(pk__in=StepSend.objects.filter(step=step).values("child_id"))
                .select_related("resident__channel", "resident__district")[:5000]
            )
            eligible = _eligible(sequence, [c.resident_id for c in children])
            for child in children:
                if child.resident_id in eligible:
                    sent += _send(step, child.resident, child)
    return sent
