"""Background tasks of disaster (Django's Tasks API; arguments are ids)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from madoguchi.disaster.feeds import feed_poll, feeds_purge_entries
from madoguchi.disaster.models import AlertFeed

# Below the default: a feed's fetches (seconds each at worst) wait behind residents' events.
POLL_PRIORITY = -10


@task(priority=POLL_PRIORITY)
def poll_alert_feed(feed_id: int) -> None:
    feed = AlertFeed.objects.filter(pk=feed_id, is_active=True).first()
    if feed is not None:
        feed_poll(feed)


def feeds_enqueue_due() -> int:
    """Periodic (`disaster.alert_feeds_poll`): claim each active feed that is due, with a
    conditional UPDATE of its next poll time (one claim whatever the number of workers), and
    queue its poll. A feed polled within its interval is not polled again."""
    now = timezone.now()
    queued = 0
    due = AlertFeed.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now), is_active=True)
    for feed in due.only("pk", "next_poll_at", "interval_seconds"):
        claimed = AlertFeed.objects.filter(pk=feed.pk, next_poll_at=feed.next_poll_at)
        if feed.next_poll_at is None:
            claimed = AlertFeed.objects.filter(pk=feed.pk, next_poll_at__isnull=True)
        if claimed.update(next_poll_at=now + timedelta(seconds=feed.interval_seconds)) == 1:
            poll_alert_feed.enqueue(feed.pk)
            queued += 1
    feeds_purge_entries()
    return queued
