"""Who may do what: permission checks and department scoping, for views and selectors."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet

from madoguchi.accounts.models import StaffProfile
from madoguchi.accounts.roles import ALL_DEPARTMENTS, ROLE_PERMISSIONS, TOTP_REQUIRED

M = TypeVar("M", bound=Model)


def staff_profile(user: AbstractBaseUser | AnonymousUser) -> StaffProfile | None:
    if not user.is_authenticated or not user.is_active:
        return None
    try:
        profile: StaffProfile = user.staff  # type: ignore[attr-defined]
        return profile
    except StaffProfile.DoesNotExist:
        return None


def has_permission(user: AbstractBaseUser | AnonymousUser, permission: str) -> bool:
    profile = staff_profile(user)
    return profile is not None and permission in ROLE_PERMISSIONS.get(profile.role, frozenset())


def totp_required(profile: StaffProfile) -> bool:
    """The second factor is required by role, and for anyone who set it up."""
    return profile.role in TOTP_REQUIRED or profile.totp_confirmed


def scope_to_department(
    queryset: QuerySet[M], user: AbstractBaseUser | AnonymousUser, field: str = "department"
) -> QuerySet[M]:
    """A department's items for its staff; everything for roles that oversee all departments.

    Items without a department belong to everyone (e.g. city-wide keywords).
    """
    profile = staff_profile(user)
    if profile is None:
        return queryset.none()
    if profile.role in ALL_DEPARTMENTS:
        return queryset
    from django.db.models import Q

    return queryset.filter(Q(**{field: profile.department_id}) | Q(**{f"{field}__isnull": True}))
