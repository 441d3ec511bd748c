"""Background tasks of defect reports (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.reports.services import update_deliver


@task()
def deliver_update(update_id: int) -> None:
    update_deliver(update_id)
