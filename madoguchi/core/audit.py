"""Writing and checking the audit trail.

Services call `audit_record` inside their transaction for every write; console views and
selectors call it for every view or export of personal data. Entries form a hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction

from madoguchi.core.models import AuditChain, AuditEntry


def _chain_locked() -> AuditChain:
    chain = AuditChain.objects.select_for_update().filter(pk=1).first()
    if chain is None:
        AuditChain.objects.get_or_create(pk=1)
        chain = AuditChain.objects.select_for_update().get(pk=1)
    return chain


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    ip_address: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry. `action` is dotted: ``residents.resident.followed``, ``residents.resident.viewed``."""
    staff = actor if actor is not None and actor.is_authenticated else None
    # No savepoint inside the caller's transaction: an entry that cannot be written fails the
    # write it records anyway, and the chain's lock is held two round trips less (bench/booking_race.py).
    with transaction.atomic(savepoint=False):
        chain = _chain_locked()
        entry = AuditEntry(
            actor=staff,  # type: ignore[misc]  # the project's user model
            actor_label=staff.get_username() if staff is not None else "system",
            action=action,
            object_type=obj._meta.label if obj is not None else object_type,
            object_id=str(obj.pk) if obj is not None else object_id,
            ip_address=ip_address,
            reason=reason[:500],
            data=data or {},
            prev_hash=chain.last_hash,
        )
        entry.entry_hash = entry.compute_hash()
        entry.save()
        chain.last_hash = entry.entry_hash
        chain.save(update_fields=["last_hash"])
    return entry


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first entry that does not fit
    problem: str = ""


def audit_verify() -> ChainReport:
    """Walk the whole chain; report the first entry that was changed, removed or inserted."""
    chain = AuditChain.objects.filter(pk=1).first()
    expected_prev = chain.anchor_hash if chain else AuditChain().anchor_hash
    checked = 0
    last_hash = expected_prev
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != expected_prev:
            return ChainReport(
                checked, entry.pk, "does not follow the entry before it (one was removed or inserted)"
            )
        if entry.compute_hash() != entry.entry_hash:
            return ChainReport(checked, entry.pk, "its content was changed")
        expected_prev = last_hash = entry.entry_hash
        checked += 1
    if chain is not None and checked and chain.last_hash != last_hash:
        return ChainReport(checked, None, "the newest entries were removed")
    return ChainReport(checked, None)


def audit_purge_before(cutoff: datetime) -> int:
    """Retention: remove entries older than `cutoff`; the chain's anchor moves to the last one removed."""
    with transaction.atomic():
        chain = _chain_locked()
        old = AuditEntry.objects.filter(at__lt=cutoff).order_by("id")
        last = old.last()
        if last is None:
            return 0
        # Only a prefix of the chain may go, or verification could not tell a purge from tampering.
        removable = AuditEntry.objects.filter(id__lte=last.pk)
        count = removable.count()
        removable.delete()  # a bulk delete: AuditEntry.delete(), which refuses, is not called
        chain.anchor_hash = last.entry_hash
        chain.save(update_fields=["anchor_hash"])
    audit_record(action="core.audit.purged", data={"entries": count, "before": cutoff.isoformat()})
    return count
