"""Background tasks of rich menus (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from madoguchi.channels.base import ChannelError
from madoguchi.richmenus import sync

LINK_ATTEMPTS = 5


@task()
def run_sync_job(job_id: int) -> None:
    sync.job_run(job_id)


@task()
def link_resident(resident_id: int, attempt: int = 1) -> None:
    try:
        sync.resident_link(resident_id)
    except ChannelError as exc:
        if exc.permanent or attempt >= LINK_ATTEMPTS:
            raise
        link_resident.using(run_after=timezone.now() + timedelta(seconds=10 * attempt)).enqueue(
            resident_id, attempt + 1
        )
