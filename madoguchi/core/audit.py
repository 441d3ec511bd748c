"""Writing the audit trail. Services call `audit_record` inside their transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from madoguchi.core.models import AuditEntry


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    obj: models.Model | None = None,
    ip_address: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry. `action` is dotted: ``residents.resident.followed``."""
    staff = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=staff,  # type: ignore[misc]  # the project's user model
        actor_label=staff.get_username() if staff is not None else "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip_address,
        data=data or {},
    )
