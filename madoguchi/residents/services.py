"""Writes about residents. Each is atomic and leaves an audit entry."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from madoguchi.channels.base import Profile
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident


def resident_get_or_create(channel: Channel, line_user_id: str) -> Resident:
    """The resident behind an event; someone who wrote before following us is recorded too."""
    resident, _ = Resident.objects.get_or_create(channel=channel, line_user_id=line_user_id)
    return resident


@transaction.atomic
def resident_follow(channel: Channel, line_user_id: str, profile: Profile | None) -> Resident:
    """A follow (or unblock) makes the resident a friend again, with their current profile."""
    resident, created = Resident.objects.select_for_update().get_or_create(
        channel=channel, line_user_id=line_user_id
    )
    returning = not created and resident.status == Resident.Status.BLOCKED
    resident.status = Resident.Status.ACTIVE
    resident.followed_at = timezone.now()
    resident.blocked_at = None
    if profile is not None:
        resident.display_name = profile.display_name[:100]
        resident.picture_url = (profile.picture_url or "")[:500]
        resident.language = (profile.language or "")[:20]
    resident.save()
    audit_record(
        action="residents.resident.followed",
        obj=resident,
        data={"new": created, "returning": returning, "profile": profile is not None},
    )
    return resident


@transaction.atomic
def resident_unfollow(channel: Channel, line_user_id: str) -> Resident:
    """A block keeps the resident's record (their history stays); we just stop sending."""
    resident, _ = Resident.objects.select_for_update().get_or_create(
        channel=channel, line_user_id=line_user_id
    )
    resident.status = Resident.Status.BLOCKED
    resident.blocked_at = timezone.now()
    resident.save(update_fields=["status", "blocked_at"])
    audit_record(action="residents.resident.blocked", obj=resident)
    return resident


@transaction.atomic
def resident_language_set(resident: Resident, language: str) -> Resident:
    """The resident chose the language the city should answer in."""
    resident.language = language[:20]
    resident.save(update_fields=["language"])
    audit_record(action="residents.resident.language_set", obj=resident, data={"language": resident.language})
    return resident
