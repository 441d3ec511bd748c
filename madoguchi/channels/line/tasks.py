"""Background tasks of the LINE integration (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.channels.line.inbound import event_process


@task(queue_name="inbound")
def process_inbound_event(webhook_event_id: str) -> None:
    event_process(webhook_event_id)
