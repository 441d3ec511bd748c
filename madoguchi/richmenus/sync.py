"""Bringing LINE in line with the menus staff published and with disaster mode.

A `SyncJob` reconciles one channel in steps, each safe to run again:

1. menus    every active page with an image exists on LINE for its revision (a disaster page
            once per audience), image uploaded. A menu created just before a crash is found
            again by its name, not created twice (creating is limited to 100 an hour).
2. aliases  each page's slug (LINE alias) points at its current revision: tabs keep working.
3. default  the menu of residents without a per-user menu (unregistered): the default page,
            or the default copy of the disaster page while disaster mode is on.
4. move     residents on a menu that is no longer theirs are moved: one batch request
            (`link from → to` for every stale or wrong-mode menu, LINE does the rest, 3 an
            hour), or, when the batch is not available, bulk links of 500 of our residents at
            a time to the menu each should see, the last resident done kept as a cursor.
5. confirm  the batch's progress is polled until LINE says it succeeded.
6. cleanup  menus of old revisions are deleted from LINE.

A 429 never makes a job hammer LINE: it waits (`status=waiting`, a task for later). A newer
job for the same channel supersedes an older one at its next step, since each job reconciles
to the state of that moment. A job whose worker died is resumed by the periodic job
`richmenus.resume_stuck_jobs` from the step (and cursor) it had reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.channels.base import (
    BATCH_OPERATIONS_MAX,
    BULK_LINK_MAX,
    BatchLink,
    ChannelError,
    rich_menus_for,
)
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident
from madoguchi.richmenus.cells import menu_spec
from madoguchi.richmenus.models import Audience, DisasterMode, PlatformMenu, RichMenu, SyncJob

logger = logging.getLogger(__name__)

Step = SyncJob.Step
Status = SyncJob.Status
BATCHES_PER_HOUR = 3  # LINE's limit for POST /v2/bot/richmenu/batch


class Wait(Exception):
    def __init__(self, seconds: float, why: str):
        super().__init__(why)
        self.seconds = seconds
        self.why = why


def disaster_on() -> bool:
    mode = DisasterMode.objects.filter(pk=1).first()
    return bool(mode and mode.is_on)


def _live(channel: Channel) -> list[PlatformMenu]:
    return list(
        PlatformMenu.objects.filter(channel=channel, deleted_at__isnull=True)
        .exclude(line_id="")
        .select_related("menu")
    )


def _current(channel: Channel) -> dict[tuple[int, str], PlatformMenu]:
    """(menu id, audience) → the platform menu of the menu's current revision, image uploaded."""
    rows = PlatformMenu.objects.filter(
        channel=channel, deleted_at__isnull=True, image_uploaded=True, menu__is_active=True
    ).select_related("menu")
    return {(p.menu_id, p.audience): p for p in rows if p.revision == p.menu.revision}


def targets(channel: Channel, *, on: bool) -> dict[str, str | None]:
    """audience → the LINE menu id a resident of that audience should see (None: the default)."""
    current = _current(channel)
    pages = {(m.audience, m.is_disaster): m for m in RichMenu.objects.filter(is_active=True, tab_order=0)}
    disaster = pages.get((Audience.DEFAULT, True))
    if on and disaster is None:
        return targets(channel, on=False)  # no disaster menu: nobody loses theirs
    result: dict[str, str | None] = {}
    for audience in Audience.values:
        menu = disaster if on else pages.get((audience, False))
        platform = current.get((menu.pk, audience)) if menu else None
        result[audience] = platform.line_id if platform else None
    return result


def resident_target(resident: Resident, menus: dict[str, str | None]) -> str | None:
    """The per-user menu for this resident: their audience's (None: unlink, the default shows)."""
    if not resident.audience:
        # Unregistered: the default menu shows, except in disaster mode where the per-user link
        # would hide nothing (the default is the disaster copy then); no link either way.
        return None
    return menus.get(resident.audience) or None


# Steps


def _audiences_with_menu(channel: Channel) -> set[str]:
    return set(
        PlatformMenu.objects.filter(
            channel=channel,
            deleted_at__isnull=True,
            image_uploaded=True,
            menu__is_disaster=False,
            menu__tab_order=0,
        )
        .exclude(audience=Audience.DEFAULT)
        .values_list("audience", flat=True)
    )


def _step_menus(job: SyncJob, channel: Channel) -> None:
    before = _audiences_with_menu(channel)
    _menus_create(channel)
    appeared = sorted(_audiences_with_menu(channel) - before)
    if appeared:
        job.link_audiences = sorted(set(job.link_audiences) | set(appeared))
        job.save(update_fields=["link_audiences"])


def _menus_create(channel: Channel) -> None:
    api = rich_menus_for(channel)
    for menu in RichMenu.objects.filter(is_active=True).exclude(image=b""):
        copies = Audience.values if menu.is_disaster else [menu.audience]
        for audience in copies:
            platform, created = PlatformMenu.objects.get_or_create(
                channel=channel, menu=menu, revision=menu.revision, audience=audience
            )
            if not platform.line_id:
                # A row without an id may belong to a create whose answer a crash lost.
                found = None if created else api.find(channel, platform.name)
                spec = menu_spec(
                    name=platform.name,
                    grid_code=menu.grid,
                    chat_bar_text=menu.chat_bar_text,
                    cells=menu.cells,
                    channel=channel,
                )
                platform.line_id = found or api.create(channel, spec)
                platform.save(update_fields=["line_id"])
            if not platform.image_uploaded:
                api.upload_image(channel, platform.line_id, bytes(menu.image), menu.image_type)
                platform.image_uploaded = True
                platform.save(update_fields=["image_uploaded"])


def _step_aliases(job: SyncJob, channel: Channel) -> None:
    api = rich_menus_for(channel)
    current = _current(channel)
    for menu in RichMenu.objects.filter(is_active=True, is_disaster=False):
        platform = current.get((menu.pk, menu.audience))
        if platform is not None:
            api.alias_set(channel, menu.slug, platform.line_id)


def _step_default(job: SyncJob, channel: Channel) -> None:
    api = rich_menus_for(channel)
    api.default_set(channel, targets(channel, on=disaster_on())[Audience.DEFAULT])


def batch_operations(channel: Channel, *, on: bool) -> list[BatchLink]:
    """`from → to` for every live menu residents may sit on that is not theirs now."""
    menus = targets(channel, on=on)
    current = _current(channel)
    restore = on or _restore_pending(channel)
    operations = []
    for platform in _live(channel):
        menu = platform.menu
        is_current = current.get((menu.pk, platform.audience)) == platform
        if is_current and menu.is_disaster == on:
            continue  # where residents belong (a tab page included)
        if is_current and menu.is_disaster and not restore:
            continue  # nobody is on a disaster menu: spare the batch (3 an hour)
        if not on and not menu.is_disaster and menu.is_active and not is_current:
            successor = current.get((menu.pk, platform.audience))
            to_id = successor.line_id if successor else menus[platform.audience]
        else:
            to_id = menus[platform.audience]
        if to_id != platform.line_id:
            operations.append(BatchLink(from_id=platform.line_id, to_id=to_id))
    return operations


def _restore_pending(channel: Channel) -> bool:
    """Whether residents may still sit on disaster menus: disaster mode was switched off and no
    job has finished moving them back since."""
    mode = DisasterMode.objects.filter(pk=1).first()
    if mode is None or mode.changed_at is None:
        return False
    return not SyncJob.objects.filter(
        channel=channel,
        reason=SyncJob.Reason.DISASTER_OFF,
        status=Status.DONE,
        created_at__gte=mode.changed_at,
    ).exists()


def _batches_left(channel: Channel) -> bool:
    hour_ago = timezone.now() - timedelta(hours=1)
    used = SyncJob.objects.filter(channel=channel, batch_requested_at__gte=hour_ago).count()
    return used < BATCHES_PER_HOUR


def _residents(channel: Channel) -> QuerySet[Resident]:
    return Resident.objects.filter(channel=channel, status=Resident.Status.ACTIVE, anonymised_at__isnull=True)


def _step_move(job: SyncJob, channel: Channel) -> Step:
    on = disaster_on()
    api = rich_menus_for(channel)
    if job.link_audiences and not job.use_bulk:
        # Residents of an audience whose menu just appeared: link them (they have no link a
        # batch could move).
        _bulk(job, channel, _residents(channel).filter(audience__in=job.link_audiences), on=on)
        job.link_audiences = []
        job.cursor = 0
        job.done_count = 0
        job.total_count = 0
        job.save(update_fields=["link_audiences", "cursor", "done_count", "total_count"])
    if not job.use_bulk:
        operations = batch_operations(channel, on=on)
        if not operations:
            return Step.CLEANUP
        if _batches_left(channel) and len(operations) <= BATCH_OPERATIONS_MAX:
            try:
                job.batch_request_id = api.batch(channel, operations)
            except ChannelError as exc:
                if exc.status != 429 and not exc.permanent:
                    raise  # a 5xx: the job tries again later
                logger.warning("rich menu batch refused (%s): linking residents in bulk", exc.message)
                job.use_bulk = True
            else:
                job.batch_requested_at = timezone.now()
                job.total_count = _residents(channel).count()
                job.save(update_fields=["batch_request_id", "batch_requested_at", "total_count"])
                return Step.CONFIRM
        job.use_bulk = True
        job.cursor = 0
        job.done_count = 0
        job.save(update_fields=["use_bulk", "cursor", "done_count"])
    _bulk(job, channel, _residents(channel), on=on)
    return Step.CLEANUP


def _bulk(job: SyncJob, channel: Channel, residents: QuerySet[Resident], *, on: bool) -> None:
    """Link these residents to their menus, 500 a request, from the job's cursor on."""
    api = rich_menus_for(channel)
    menus = targets(channel, on=on)
    if not job.total_count:
        job.total_count = residents.count()
        job.save(update_fields=["total_count"])
    while True:
        if _superseded(job):
            raise Superseded
        chunk = list(
            residents.filter(pk__gt=job.cursor)
            .order_by("pk")
            .only("pk", "line_user_id", "audience")[:BULK_LINK_MAX]
        )
        if not chunk:
            return
        groups: dict[str | None, list[str]] = {}
        for resident in chunk:
            groups.setdefault(resident_target(resident, menus), []).append(resident.line_user_id)
        for menu_id, user_ids in groups.items():
            api.bulk_link(channel, user_ids, menu_id)
        job.cursor = chunk[-1].pk
        job.done_count += len(chunk)
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["cursor", "done_count", "heartbeat_at"])


def _step_confirm(job: SyncJob, channel: Channel) -> Step:
    phase = rich_menus_for(channel).batch_phase(channel, job.batch_request_id)
    if phase == "ongoing":
        raise Wait(settings.MADOGUCHI_RICHMENU_POLL_SECONDS, "LINE is still moving residents")
    if phase == "failed":
        # LINE gave up part way: link our residents one bulk request at a time instead.
        job.use_bulk = True
        job.cursor = 0
        job.done_count = 0
        job.save(update_fields=["use_bulk", "cursor", "done_count"])
        return Step.MOVE
    job.done_count = job.total_count
    job.save(update_fields=["done_count"])
    return Step.CLEANUP


def _step_cleanup(job: SyncJob, channel: Channel) -> None:
    api = rich_menus_for(channel)
    stale = PlatformMenu.objects.filter(channel=channel, deleted_at__isnull=True).select_related("menu")
    for platform in stale:
        menu = platform.menu
        if menu.is_active and platform.revision == menu.revision:
            continue
        if platform.line_id:
            try:
                api.delete(channel, platform.line_id)
            except ChannelError as exc:
                if exc.status == 429:
                    logger.info("rich menu deletes are rate limited: the next sync removes the rest")
                    return
                raise
        platform.deleted_at = timezone.now()
        platform.save(update_fields=["deleted_at"])


class Superseded(Exception):
    pass


def _superseded(job: SyncJob) -> bool:
    return SyncJob.objects.filter(
        channel=job.channel_id,
        pk__gt=job.pk,
        status__in=[Status.QUEUED, Status.RUNNING, Status.WAITING],
    ).exists()


def _claim(job_id: int) -> SyncJob | None:
    """Take the job for this worker; None when it is not ours to run now."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (Status.QUEUED, Status.WAITING):
            return None
        Channel.objects.select_for_update().filter(pk=job.channel_id).first()  # one job per channel
        busy = (
            SyncJob.objects.filter(channel=job.channel_id, status=Status.RUNNING)
            .exclude(pk=job.pk)
            .filter(
                heartbeat_at__gte=timezone.now()
                - timedelta(seconds=settings.MADOGUCHI_RICHMENU_STUCK_SECONDS)
            )
            .exists()
        )
        if busy:
            _later(job, 2, "another job of this channel is running")
            return None
        job.status = Status.RUNNING
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "heartbeat_at"])
        return job


def _later(job: SyncJob, seconds: float, why: str) -> None:
    from madoguchi.richmenus.tasks import run_sync_job

    job.status = Status.WAITING
    job.error = why[:500]
    job.save(update_fields=["status", "error"])
    transaction.on_commit(
        lambda: run_sync_job.using(run_after=timezone.now() + timedelta(seconds=seconds)).enqueue(job.pk)
    )


def _then(step: Callable[[SyncJob, Channel], None], after: Step) -> Callable[[SyncJob, Channel], Step]:
    def run(job: SyncJob, channel: Channel) -> Step:
        step(job, channel)
        return after

    return run


STEPS: dict[Step, Callable[[SyncJob, Channel], Step]] = {
    Step.MENUS: _then(_step_menus, Step.ALIASES),
    Step.ALIASES: _then(_step_aliases, Step.DEFAULT),
    Step.DEFAULT: _then(_step_default, Step.MOVE),
    Step.MOVE: _step_move,
    Step.CONFIRM: _step_confirm,
    Step.CLEANUP: _then(_step_cleanup, Step.DONE),
}


def job_run(job_id: int) -> None:
    job = _claim(job_id)
    if job is None:
        return
    channel = Channel.objects.get(pk=job.channel_id)
    try:
        while job.step != Step.DONE:
            if _superseded(job):
                raise Superseded
            job.step = STEPS[Step(job.step)](job, channel)
            job.heartbeat_at = timezone.now()
            job.error = ""
            job.save(update_fields=["step", "heartbeat_at", "error"])
    except Superseded:
        job.status = Status.SUPERSEDED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        return
    except Wait as wait:
        with transaction.atomic():
            _later(job, wait.seconds, wait.why)
        return
    except ChannelError as exc:
        job.attempts += 1
        job.save(update_fields=["attempts"])
        if exc.permanent or job.attempts >= settings.MADOGUCHI_RICHMENU_JOB_ATTEMPTS:
            job.status = Status.FAILED
            job.error = exc.message[:500]
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            logger.error("rich menu sync %s failed: %s", job.pk, exc.message)
            return
        wait_seconds = (
            settings.MADOGUCHI_RICHMENU_RATE_WAIT_SECONDS
            if exc.status == 429
            else settings.MADOGUCHI_RICHMENU_POLL_SECONDS * job.attempts
        )
        with transaction.atomic():
            _later(job, wait_seconds, exc.message)
        return
    job.status = Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])


def jobs_resume_stuck() -> int:
    """Periodic: re-queue jobs whose worker died (running, no heartbeat for a while)."""
    from madoguchi.richmenus.tasks import run_sync_job

    stale = timezone.now() - timedelta(seconds=settings.MADOGUCHI_RICHMENU_STUCK_SECONDS)
    resumed = 0
    for job in SyncJob.objects.filter(status=Status.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    ):
        with transaction.atomic():
            if SyncJob.objects.filter(pk=job.pk, status=Status.RUNNING, heartbeat_at=job.heartbeat_at).update(
                status=Status.QUEUED
            ):
                transaction.on_commit(partial(run_sync_job.enqueue, job.pk))
                resumed += 1
    return resumed


def resident_link(resident_id: int) -> None:
    """Show one resident the menu of their audience (or the disaster copy); unregistered: the default."""
    resident = Resident.objects.select_related("channel").get(pk=resident_id)
    if resident.status != Resident.Status.ACTIVE or resident.anonymised_at is not None:
        return
    channel = resident.channel
    if not PlatformMenu.objects.filter(channel=channel, image_uploaded=True).exists():
        return  # no menu on LINE yet: the first sync links everyone
    target = resident_target(resident, targets(channel, on=disaster_on()))
    rich_menus_for(channel).link(channel, resident.line_user_id, target)
