"""Background tasks of registration (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.registration.services import registration_confirm


@task()
def confirm_registration(resident_id: int, key: str) -> None:
    registration_confirm(resident_id, key)
