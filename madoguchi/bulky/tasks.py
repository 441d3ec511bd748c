"""Background tasks of 粗大ごみ booking (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.bulky.messages import booking_message_push


@task()
def push_booking_message(booking_id: int, kind: str, key: str) -> None:
    booking_message_push(booking_id, kind, key)
