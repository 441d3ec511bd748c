"""Writes: shelter imports and the status staff set. Each is one transaction with its audit entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.core.audit import audit_record
from madoguchi.disaster.hazards import HAZARDS
from madoguchi.disaster.importers import parse
from madoguchi.disaster.models import Shelter


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def shelter_import(data: bytes, name: str, *, fmt: str | None = None, actor: Any = None) -> ImportReport:
    """Import a GSI or standard-dataset CSV: new sites are added (未開設), known ones (same source
    and ID) updated; a site's status is kept, so an import mid-disaster closes nothing. Refused
    rows are in the report's errors. Raises ImportRefused for a file that cannot be used."""
    parsed = parse(data, name, fmt)
    report = ImportReport(errors=list(parsed.errors))
    with transaction.atomic():
        existing = {shelter.key: shelter for shelter in Shelter.objects.filter(source=parsed.source)}
        create, update = [], []
        now = timezone.now()
        for row in parsed.rows:
            values: dict[str, Any] = {
                "kind": row.kind,
                "name": row.name,
                "address": row.address,
                "latitude": row.latitude,
                "longitude": row.longitude,
                "capacity": row.capacity,
                "capacity_text": row.capacity_text,
                "community": row.community,
                "is_active": True,
                **{hazard.code: hazard.code in row.hazards for hazard in HAZARDS},
            }
            shelter = existing.get(row.key)
            if shelter is None:
                create.append(Shelter(source=parsed.source, key=row.key, **values))
            else:
                for attribute, value in values.items():
                    setattr(shelter, attribute, value)
                shelter.updated_at = now
                update.append(shelter)
        Shelter.objects.bulk_create(create, batch_size=500)
        Shelter.objects.bulk_update(update, [*values_fields(), "updated_at"], batch_size=500)
        report.created, report.updated = len(create), len(update)
        audit_record(
            action="disaster.shelters.imported",
            actor=actor,
            object_type="disaster.Shelter",
            data={
                "file": name[:100],
                "source": parsed.source,
                "created": report.created,
                "updated": report.updated,
                "refused": len(report.errors),
            },
        )
    return report


def values_fields() -> list[str]:
    return [
        "kind",
        "name",
        "address",
        "latitude",
        "longitude",
        "capacity",
        "capacity_text",
        "community",
        "is_active",
        *(hazard.code for hazard in HAZARDS),
    ]


def shelter_status_set(shelter: Shelter, *, status: str, actor: Any, ip_address: str | None = None) -> bool:
    """Set 未開設 / 開設 / 満員. Returns False when it already was (nothing written, nothing audited)."""
    if status not in Shelter.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        locked = Shelter.objects.select_for_update().get(pk=shelter.pk)
        if locked.status == status:
            return False
        before = locked.status
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.status_changed_by = actor if getattr(actor, "pk", None) else None
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "updated_at"])
        audit_record(
            action="disaster.shelter.status_changed",
            actor=actor,
            obj=locked,
            ip_address=ip_address,
            data={"name": locked.name[:100], "from": before, "to": status},
        )
    shelter.status, shelter.status_changed_at = locked.status, locked.status_changed_at
    return True
