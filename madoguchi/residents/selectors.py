"""Reads of residents' personal data. Each checks the reader's permission and logs the access."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet

from madoguchi.accounts.access import has_permission
from madoguchi.accounts.roles import Perm
from madoguchi.core.audit import audit_record
from madoguchi.residents.models import Resident, Tag

User = AbstractBaseUser | AnonymousUser


def visible_residents(user: User) -> QuerySet[Resident]:
    """Being a friend of the counseling channel is itself confidential: counselors alone see
    those residents."""
    if has_permission(user, Perm.COUNSELING_VIEW):
        return Resident.objects.all()
    return Resident.objects.filter(channel__is_confidential=False)


def resident_search(
    user: User, *, query: str = "", tag: Tag | None = None, ip_address: str | None = None
) -> QuerySet[Resident]:
    """Residents matching a search (and a tag), for the list page; the search itself is logged."""
    if not has_permission(user, Perm.RESIDENTS_VIEW):
        raise PermissionDenied
    residents = visible_residents(user).select_related("channel").order_by("-followed_at", "-id")
    if query:
        residents = residents.filter(Q(display_name__icontains=query) | Q(line_user_id=query))
    if tag is not None:
        residents = residents.filter(tags=tag)
    audit_record(
        action="residents.resident.listed",
        actor=user,
        object_type="residents.Resident",
        ip_address=ip_address,
        data={"query": query[:100], **({"tag": tag.name} if tag is not None else {})},
    )
    return residents


def tags_with_counts(user: User) -> QuerySet[Tag]:
    """Every tag and how many residents this person may see carry it (counts, no one named)."""
    if not has_permission(user, Perm.RESIDENTS_VIEW):
        raise PermissionDenied
    visible = Q(residents__in=visible_residents(user))
    return Tag.objects.annotate(resident_count=Count("residents", filter=visible, distinct=True)).order_by(
        "name"
    )


def resident_for_view(user: User, resident_id: int, *, ip_address: str | None = None) -> Resident:
    """One resident, opened by a staff member: logged with who, when, from where."""
    if not has_permission(user, Perm.RESIDENTS_VIEW):
        raise PermissionDenied
    resident = visible_residents(user).select_related("channel").get(pk=resident_id)
    audit_record(action="residents.resident.viewed", actor=user, obj=resident, ip_address=ip_address)
    return resident
