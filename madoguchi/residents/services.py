"""Writes about residents. Each is atomic and leaves an audit entry."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from madoguchi.channels.base import Profile
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.residents.models import ErasureRequest, Resident


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


@transaction.atomic
def resident_erasure_request(resident: Resident, *, actor: AbstractBaseUser, reason: str) -> ErasureRequest:
    """Ask for a resident's data to be anonymised; a second person must approve."""
    request = ErasureRequest.objects.create(
        resident=resident,
        requested_by=actor,  # type: ignore[misc]  # the project's user model
        reason=reason[:500],
    )
    audit_record(
        action="residents.erasure.requested",
        actor=actor,
        obj=resident,
        reason=reason,
        data={"request": request.pk},
    )
    return request


class SameApproverError(Exception):
    """The person who asked cannot approve their own request."""


@transaction.atomic
def resident_erasure_approve(request: ErasureRequest, *, actor: AbstractBaseUser) -> Resident:
    """The second person approves: the resident's personal data is anonymised everywhere."""
    request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ErasureRequest.Status.PENDING:
        return request.resident
    if request.requested_by_id == actor.pk:
        raise SameApproverError
    resident = request.resident
    original_user_id = resident.line_user_id
    pseudonym = "anon-" + hashlib.sha256(f"{resident.pk}:{original_user_id}".encode()).hexdigest()[:24]
    for hook in ERASURE_HOOKS:
        import_string(hook)(resident.channel_id, original_user_id, pseudonym)
    resident.line_user_id = pseudonym
    resident.display_name = ""
    resident.picture_url = ""
    resident.language = ""
    resident.anonymised_at = timezone.now()
    resident.save()
    request.status = ErasureRequest.Status.APPROVED
    request.decided_by = actor  # type: ignore[assignment]
    request.decided_at = timezone.now()
    request.save()
    audit_record(action="residents.erasure.approved", actor=actor, obj=resident, data={"request": request.pk})
    return resident


# What else holds a resident's data, by dotted path: function(channel_id, line_user_id, pseudonym).
# Integrations and feature apps add theirs here (the residents app cannot import them).
ERASURE_HOOKS = [
    "madoguchi.channels.line.inbound.events_anonymise",
    "madoguchi.inbox.services.conversations_erase",
]
