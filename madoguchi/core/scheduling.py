"""Every periodic job of Madoguchi, in one list, and the tick that runs the due ones.

A job is a dotted path to a function without arguments and how often it runs. `madoguchi tick`
runs what is due once; `madoguchi worker` runs the `at_start` jobs as it starts, then ticks every
few seconds beside the task worker. Jobs are claimed with a conditional UPDATE, so any number of
workers can tick at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.module_loading import import_string

from madoguchi.core.models import ScheduledJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    function: str
    every: timedelta
    # Also run by every worker as it starts (a worker starting is often one replacing a dead one).
    at_start: bool = False


PERIODIC_JOBS: list[Periodic] = [
    Periodic(
        name="line.requeue_stuck_events",
        function="madoguchi.channels.line.inbound.events_requeue_stuck",
        every=timedelta(minutes=1),
    ),
    Periodic(
        name="core.retention_purge",
        function="madoguchi.core.retention.retention_purge",
        every=timedelta(days=1),
    ),
    Periodic(
        name="line.refresh_expiring_tokens",
        function="madoguchi.channels.line.tokens.tokens_refresh_expiring",
        every=timedelta(minutes=10),
    ),
    Periodic(
        name="inbox.close_idle_conversations",
        function="madoguchi.inbox.services.conversations_close_idle",
        every=timedelta(minutes=10),
    ),
    Periodic(
        name="messaging.deliveries_due",
        function="madoguchi.messaging.services.deliveries_due",
        every=timedelta(seconds=20),
    ),
    Periodic(
        # A few indexed reads when nothing is wrong; a dead worker's delivery goes on within
        # seconds of its claims going stale.
        name="messaging.runs_resume",
        function="madoguchi.messaging.sending.runs_resume",
        every=timedelta(seconds=5),
        at_start=True,
    ),
    Periodic(
        name="messaging.steps_send_due",
        function="madoguchi.messaging.steps.steps_send_due",
        every=timedelta(minutes=5),
    ),
    Periodic(
        name="messaging.runs_insight_refresh",
        function="madoguchi.messaging.services.runs_insight_refresh",
        every=timedelta(hours=6),
    ),
    Periodic(
        name="richmenus.resume_stuck_jobs",
        function="madoguchi.richmenus.sync.jobs_resume_stuck",
        every=timedelta(minutes=1),
    ),
    Periodic(
        name="reports.purge_drafts",
        function="madoguchi.reports.services.drafts_purge",
        every=timedelta(hours=1),
    ),
    Periodic(
        name="garbage.reminders_send",
        function="madoguchi.garbage.services.reminders_send",
        every=timedelta(minutes=5),
    ),
    Periodic(
        name="bulky.reminders_send_due",
        function="madoguchi.bulky.services.reminders_send_due",
        every=timedelta(minutes=15),
    ),
    Periodic(
        # 安否確認: non-responders asked again, once, at the time staff chose.
        name="disaster.safety_reask_due",
        function="madoguchi.disaster.services.safety_reask_due",
        every=timedelta(seconds=30),
    ),
    Periodic(
        # Alert feeds (気象庁's Atom feeds, CAP URLs): each due feed's poll is queued as a task, so
        # a slow feed holds up no other periodic job.
        name="disaster.alert_feeds_poll",
        function="madoguchi.disaster.tasks.feeds_enqueue_due",
        every=timedelta(seconds=15),
    ),
]


def at_start() -> list[str]:
    """Run the jobs marked `at_start` once, whatever their schedule (a worker starting)."""
    ran = []
    for job in PERIODIC_JOBS:
        if not job.at_start:
            continue
        try:
            import_string(job.function)()
        except Exception:  # the worker starts anyway; the job runs again on schedule
            logger.exception("start-up job %s failed", job.name)
        ran.append(job.name)
    return ran


def tick(*, jobs: list[Periodic] | None = None) -> list[str]:
    """Run every job that is due; return the names of those this process ran."""
    now = timezone.now()
    ran = []
    for job in jobs if jobs is not None else PERIODIC_JOBS:
        row, _ = ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        if row.next_run_at > now:
            continue
        claimed = ScheduledJob.objects.filter(pk=row.pk, next_run_at=row.next_run_at).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if claimed != 1:
            continue  # another worker got there first
        error = ""
        try:
            import_string(job.function)()
        except Exception as exc:  # a failing job must not stop the others
            logger.exception("periodic job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"
        ScheduledJob.objects.filter(pk=row.pk).update(last_error=error)
        ran.append(job.name)
    return ran
