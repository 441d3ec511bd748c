"""Background tasks of 粗大ごみ booking (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from madoguchi.bulky.messages import booking_message_push
from madoguchi.bulky.tagging import tag_residents_who_booked
from madoguchi.residents.models import Resident


@task()
def push_booking_message(booking_id: int, kind: str, key: str) -> None:
    booking_message_push(booking_id, kind, key)


@task()
def retag_resident(resident_id: int) -> None:
    """The 粗大ごみ予約済み tag, brought in line with the resident's bookings as they stand."""
    resident = Resident.objects.filter(pk=resident_id).first()
    if resident is not None:
        with transaction.atomic():
            tag_residents_who_booked(resident)
