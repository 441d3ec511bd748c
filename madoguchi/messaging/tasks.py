"""Background tasks of deliveries (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.messaging.models import DeliveryRun
from madoguchi.messaging.sending import _task_priority, next_pending_batch, pump


@task()
def deliver_run(run_id: int) -> None:
    """Prepare and send a run (and any other pending batches, most urgent first). A slice that
    ran out of time, or gave way to an emergency, queues its own continuation."""
    result = pump(run_id)
    if result.interrupted:
        waiting = next_pending_batch()
        run = waiting.run if waiting else DeliveryRun.objects.filter(pk=run_id).first()
        if run is not None and run.status in (DeliveryRun.Status.PREPARING, DeliveryRun.Status.SENDING):
            deliver_run.using(priority=_task_priority(run)).enqueue(run.pk)
