"""Background tasks of the inbox (Django's Tasks API; arguments are ids, never message text)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from madoguchi.channels.base import ChannelError, transport_for
from madoguchi.core.models import Channel
from madoguchi.inbox.services import attachment_fetch, message_deliver

FETCH_ATTEMPTS = 5


@task()
def deliver_message(message_id: int) -> None:
    message_deliver(message_id)


@task()
def fetch_attachment(message_id: int, attempt: int = 1) -> None:
    try:
        attachment_fetch(message_id)
    except ChannelError as exc:
        if exc.permanent or attempt >= FETCH_ATTEMPTS:
            raise
        # LINE keeps content for a while: try again later rather than lose the photo.
        fetch_attachment.using(run_after=timezone.now() + timedelta(minutes=attempt)).enqueue(
            message_id, attempt + 1
        )


@task()
def mark_read(channel_id: int, token: str) -> None:
    channel = Channel.objects.get(pk=channel_id)
    transport_for(channel).mark_read(channel, token=token)
