"""Writes about staff: creating them, the second factor, lockout. Each leaves an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from madoguchi.accounts.models import Department, StaffProfile
from madoguchi.accounts.roles import Role
from madoguchi.core.audit import audit_record


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str,
    role: str,
    department: Department | None = None,
    full_name: str = "",
    actor: AbstractBaseUser | None = None,
) -> StaffProfile:
    """A new staff account; the password must pass the password policy (ValidationError if not)."""
    user_model = get_user_model()
    user = user_model(username=username, first_name=full_name[:150])
    validate_password(password, user)
    user.set_password(password)
    # The admin site (channel set-up) is for system administrators only.
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save()
    profile = StaffProfile.objects.create(user=user, role=role, department=department)
    audit_record(
        action="accounts.staff.created",
        actor=actor,
        obj=profile,
        data={"username": username, "role": role, "department": department.code if department else None},
    )
    return profile


def login_failed(profile: StaffProfile, *, ip_address: str | None, reason: str) -> None:
    """Count a failed attempt; lock the account for a while after too many."""
    with transaction.atomic():
        StaffProfile.objects.filter(pk=profile.pk).update(failed_logins=F("failed_logins") + 1)
        profile.refresh_from_db(fields=["failed_logins"])
        locked = profile.failed_logins >= settings.MADOGUCHI_LOGIN_MAX_FAILURES
        if locked:
            profile.locked_until = timezone.now() + timedelta(seconds=settings.MADOGUCHI_LOGIN_LOCK_SECONDS)
            profile.failed_logins = 0
            profile.save(update_fields=["locked_until", "failed_logins"])
        audit_record(
            action="accounts.login.locked" if locked else "accounts.login.failed",
            obj=profile,
            ip_address=ip_address,
            data={"reason": reason},
        )


def login_succeeded(profile: StaffProfile, *, ip_address: str | None) -> None:
    StaffProfile.objects.filter(pk=profile.pk).update(failed_logins=0, locked_until=None)
    audit_record(action="accounts.login.succeeded", actor=profile.user, obj=profile, ip_address=ip_address)


@dataclass
class Enrolment:
    secret: str
    uri: str


def totp_enrolment_start(profile: StaffProfile) -> Enrolment:
    """A new secret to scan; it counts only once a code from it is confirmed."""
    if not profile.totp_secret or profile.totp_confirmed:
        profile.totp_secret = pyotp.random_base32()
        profile.totp_confirmed = False
        profile.save(update_fields=["totp_secret", "totp_confirmed"])
    uri = pyotp.TOTP(profile.totp_secret).provisioning_uri(
        name=profile.user.get_username(), issuer_name=f"Madoguchi {settings.MADOGUCHI_CITY_NAME}"
    )
    return Enrolment(profile.totp_secret, uri)


def totp_check(profile: StaffProfile, code: str, *, at: datetime | None = None) -> bool:
    """A valid code from the authenticator, not used before (one step of clock drift allowed)."""
    code = "".join(ch for ch in code if ch.isdigit())
    if not profile.totp_secret or len(code) != 6:
        return False
    totp = pyotp.TOTP(profile.totp_secret)
    now = at or timezone.now()
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=30 * drift)
        if totp.at(moment) == code:
            step = totp.timecode(moment)
            # A code once used cannot be replayed (compare-and-set, so two tabs cannot both win).
            return (
                StaffProfile.objects.filter(pk=profile.pk, totp_last_step__lt=step).update(
                    totp_last_step=step
                )
                == 1
            )
    return False


def totp_confirm(profile: StaffProfile, code: str) -> bool:
    if not totp_check(profile, code):
        return False
    profile.totp_confirmed = True
    profile.save(update_fields=["totp_confirmed"])
    audit_record(action="accounts.totp.enrolled", actor=profile.user, obj=profile)
    return True


@transaction.atomic
def totp_reset(profile: StaffProfile, *, actor: AbstractBaseUser) -> None:
    """An administrator resets a lost authenticator; the person enrols again at next login."""
    profile.totp_secret = ""
    profile.totp_confirmed = False
    profile.save(update_fields=["totp_secret", "totp_confirmed"])
    audit_record(action="accounts.totp.reset", actor=actor, obj=profile)


@transaction.atomic
def staff_unlock(profile: StaffProfile, *, actor: AbstractBaseUser) -> None:
    profile.locked_until = None
    profile.failed_logins = 0
    profile.save(update_fields=["locked_until", "failed_logins"])
    audit_record(action="accounts.staff.unlocked", actor=actor, obj=profile)


@transaction.atomic
def staff_line_user_set(profile: StaffProfile, *, line_user_id: str) -> None:
    """A staff member's own LINE account, where test sends of deliveries go."""
    line_user_id = line_user_id.strip()
    if line_user_id and (len(line_user_id) > 64 or not line_user_id.isalnum() or not line_user_id.isascii()):
        raise ValueError(line_user_id)
    profile.line_user_id = line_user_id
    profile.save(update_fields=["line_user_id"])
    audit_record(
        action="accounts.staff.line_user_set",
        actor=profile.user,
        obj=profile,
        data={"set": bool(line_user_id)},
    )
