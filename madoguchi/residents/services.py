"""Writes about residents. Each is atomic and leaves an audit entry."""

from __future__ import annotations

import hashlib
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from madoguchi.channels.base import Profile
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.residents.models import Child, District, ErasureRequest, Interest, Resident, ResidentTag, Tag


def resident_get_or_create(channel: Channel, line_user_id: str) -> Resident:
    """The resident behind an event; someone who wrote before following us is recorded too."""
    resident, _ = Resident.objects.get_or_create(channel=channel, line_user_id=line_user_id)
    return resident


def residents_get_or_create(channel: Channel, line_user_ids: list[str]) -> dict[str, Resident]:
    """The residents behind many events, by LINE user id: one query for those we know."""
    found = {
        resident.line_user_id: resident
        for resident in Resident.objects.filter(channel=channel, line_user_id__in=set(line_user_ids))
    }
    for line_user_id in set(line_user_ids) - found.keys():
        found[line_user_id] = resident_get_or_create(channel, line_user_id)
    return found


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
        if resident.registered_at is None:  # a registered resident chose their language: keep it
            resident.language = (profile.language or "")[:20]
    resident.save()
    for hook in FOLLOW_HOOKS:
        import_string(hook)(resident)
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


MAX_CHILDREN = 10
# A child's birthdate is taken from January of this many years ago up to today.
CHILD_MAX_YEARS = 25


class RegistrationError(ValueError):
    """What the resident sent cannot be registered; the message is for the resident (Japanese)."""


@transaction.atomic
def resident_register(
    resident: Resident,
    *,
    terms_version: str,
    audience: str = "",
    district: District | None = None,
    age_band: str = "",
    interests: list[Interest] | None = None,
    children: list[date] | None = None,
    language: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> Resident:
    """The resident consents to the terms and registers (or changes) what they want to tell us.

    Everything but the consent is optional; an empty value clears what was there.
    """
    if not terms_version:
        raise RegistrationError(_("利用規約への同意が必要です。"))
    if audience and audience not in Resident.Audience.values:
        raise RegistrationError(_("区分を選び直してください。"))
    if age_band and age_band not in Resident.AgeBand.values:
        raise RegistrationError(_("年代を選び直してください。"))
    children = children or []
    if len(children) > MAX_CHILDREN:
        raise RegistrationError(_("お子さまは %(count)s 人まで登録できます。") % {"count": MAX_CHILDREN})
    today = timezone.localdate()
    for birthdate in children:
        if birthdate > today or birthdate.year < today.year - CHILD_MAX_YEARS:
            raise RegistrationError(_("お子さまの生年月日を確かめてください。"))
    first = resident.registered_at is None
    resident.terms_version = terms_version[:20]
    resident.audience = audience
    resident.district = district
    resident.age_band = age_band
    if language is not None:
        resident.language = language[:20]
    resident.registered_at = resident.registered_at or timezone.now()
    resident.save()
    resident.interests.set(interests or [])
    existing = sorted(resident.children.values_list("birthdate", flat=True))
    if existing != sorted(children):
        resident.children.all().delete()
        Child.objects.bulk_create([Child(resident=resident, birthdate=b) for b in children])
    for hook in REGISTRATION_HOOKS:
        import_string(hook)(resident, first)
    audit_record(
        action="residents.resident.registered",
        actor=actor,
        obj=resident,
        data={"first": first, "terms_version": resident.terms_version, "children": len(children)},
    )
    return resident


@transaction.atomic
def resident_tag_add(resident: Resident, name: str, *, actor: AbstractBaseUser | None = None) -> Tag:
    """Tag a resident. Staff tag by hand (actor given); features tag by behaviour (no actor), and
    such a tag is created as automatic the first time it is used."""
    name = " ".join(name.split())[:100]
    if not name:
        raise ValueError("empty tag")
    source = Tag.Source.STAFF if actor is not None else Tag.Source.AUTO
    tag, _created = Tag.objects.get_or_create(name=name, defaults={"source": source})
    _link, added = ResidentTag.objects.get_or_create(resident=resident, tag=tag)
    if added:
        audit_record(action="residents.resident.tagged", actor=actor, obj=resident, data={"tag": tag.name})
    return tag


@transaction.atomic
def resident_tag_remove(resident: Resident, tag: Tag, *, actor: AbstractBaseUser | None = None) -> None:
    removed, _kinds = ResidentTag.objects.filter(resident=resident, tag=tag).delete()
    if removed:
        audit_record(action="residents.resident.untagged", actor=actor, obj=resident, data={"tag": tag.name})


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
    resident.audience = ""
    resident.district = None
    resident.age_band = ""
    resident.interests.clear()
    resident.tags.clear()
    resident.children.all().delete()
    resident.anonymised_at = timezone.now()
    resident.save()
    request.status = ErasureRequest.Status.APPROVED
    request.decided_by = actor  # type: ignore[assignment]
    request.decided_at = timezone.now()
    request.save()
    audit_record(action="residents.erasure.approved", actor=actor, obj=resident, data={"request": request.pk})
    return resident


# Feature apps that act when a resident follows (function(resident)) or registers
# (function(resident, first_time)), by dotted path: step deliveries start here.
FOLLOW_HOOKS: list[str] = []
REGISTRATION_HOOKS: list[str] = []

# What else holds a resident's data, by dotted path: function(channel_id, line_user_id, pseudonym).
# Integrations and feature apps add theirs here (the residents app cannot import them).
ERASURE_HOOKS = [
    "madoguchi.channels.line.inbound.events_anonymise",
    "madoguchi.inbox.services.conversations_erase",
    "madoguchi.faq.services.questions_erase",
    "madoguchi.reports.services.reports_erase",
]
