"""Writes about step deliveries (sequences and their steps), for the console. Each is atomic and
leaves an audit entry; step content is checked like a delivery's (content.py)."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.messaging.content import content_validate
from madoguchi.messaging.models import Segment, Step, StepSequence
from madoguchi.messaging.services import DeliveryError
from madoguchi.messaging.steps import enrollments_recheck


@transaction.atomic
def step_sequence_save(
    *,
    actor: AbstractBaseUser,
    name: str,
    channel: Channel,
    trigger: str,
    segment: Segment | None = None,
    sequence: StepSequence | None = None,
) -> StepSequence:
    name = name.strip()[:100]
    if not name:
        raise DeliveryError(_("名前を入れてください。"))
    if trigger not in StepSequence.Trigger.values:
        raise DeliveryError(_("起点の指定が正しくありません。"))
    created = sequence is None
    if sequence is None:
        sequence = StepSequence(created_by=actor)  # type: ignore[misc]
    sequence.name = name
    sequence.channel = channel
    sequence.trigger = trigger
    sequence.segment = segment
    sequence.save()
    audit_record(
        action="messaging.step_sequence.created" if created else "messaging.step_sequence.changed",
        actor=actor,
        obj=sequence,
        data={"trigger": trigger, "segment": segment.pk if segment else None},
    )
    return sequence


@transaction.atomic
def step_sequence_active_set(
    sequence: StepSequence, *, active: bool, actor: AbstractBaseUser
) -> StepSequence:
    sequence.is_active = active
    sequence.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action="messaging.step_sequence.activated" if active else "messaging.step_sequence.deactivated",
        actor=actor,
        obj=sequence,
    )
    return sequence


@transaction.atomic
def step_save(
    sequence: StepSequence,
    *,
    actor: AbstractBaseUser,
    months: int,
    days: int,
    send_time: time,
    content: Any,
    step: Step | None = None,
) -> Step:
    content = content_validate(content)
    created = step is None
    if step is None:
        step = Step(sequence=sequence)
    step.months, step.days, step.send_time, step.content = months, days, send_time, content
    step.save()
    enrollments_recheck(sequence)
    audit_record(
        action="messaging.step.created" if created else "messaging.step.changed",
        actor=actor,
        obj=sequence,
        data={"step": step.pk, "months": months, "days": days},
    )
    return step


@transaction.atomic
def step_delete(step: Step, *, actor: AbstractBaseUser) -> None:
    sequence = step.sequence
    audit_record(action="messaging.step.deleted", actor=actor, obj=sequence, data={"step": step.pk})
    step.delete()
    enrollments_recheck(sequence)
