"""Writes to scenarios: drafts, publishing, rolling back, importing, previewing. Each is atomic
and leaves an audit entry."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from madoguchi.accounts.models import Department
from madoguchi.channels.base import transport_for
from madoguchi.chatbot.registry import Turn
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident
from madoguchi.residents.services import resident_get_or_create
from madoguchi.scenarios.definition import definition_dump, definition_load, definition_validate
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.runtime import scenario_start


class VersionStateError(ValueError):
    """The version is not in a state that allows this (e.g. publishing what is not a draft)."""


def _next_number(scenario: Scenario) -> int:
    return (scenario.versions.aggregate(top=Max("number"))["top"] or 0) + 1


def scenario_draft_save(
    definition: dict[str, Any],
    *,
    source: str = "",
    actor: AbstractBaseUser | None = None,
    department: Department | None = None,
    ip_address: str | None = None,
    editor: str = "yaml",
) -> ScenarioVersion:
    """Save a valid definition as its scenario's draft: the draft there is is replaced, else a
    new draft version is added. A scenario seen for the first time is created (belonging to
    `department`); the published version is left alone. `editor` ("yaml" or "form") is recorded
    in the audit entry: which of the console's editors wrote it."""
    definition = definition_validate(definition)
    with transaction.atomic():
        scenario, created = Scenario.objects.get_or_create(
            slug=definition["slug"],
            defaults={
                "title": definition["title"],
                "triggers": definition.get("triggers", []),
                "is_disaster": bool(definition.get("disaster", False)),
                "department": department,
            },
        )
        scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)  # one numbering at a time
        draft = scenario.versions.filter(status=ScenarioVersion.Status.DRAFT).first()
        if draft is None:
            draft = ScenarioVersion(scenario=scenario, number=_next_number(scenario))
        draft.definition = definition
        draft.source = source
        draft.created_by = actor  # type: ignore[assignment]  # the project's user model
        draft.save()
        if not scenario.versions.filter(status=ScenarioVersion.Status.PUBLISHED).exists():
            _mirror(scenario, draft)  # until one is published, the list shows the draft's title
        audit_record(
            action="scenarios.version.saved",
            actor=actor,
            obj=draft,
            ip_address=ip_address,
            data={
                "scenario": scenario.slug,
                "number": draft.number,
                "new_scenario": created,
                "editor": editor,
            },
        )
    return draft


def scenario_publish(
    version: ScenarioVersion, *, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> ScenarioVersion:
    """The draft becomes what residents get; the version published before is archived.
    Residents in the middle of the old version finish it (they keep the version they started)."""
    with transaction.atomic():
        scenario = Scenario.objects.select_for_update().get(pk=version.scenario_id)
        version = ScenarioVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != ScenarioVersion.Status.DRAFT:
            raise VersionStateError("only a draft can be published")
        # Checked again: an FAQ action or another app's postback may have gone since it was saved.
        definition_validate(version.definition)
        previous = scenario.versions.filter(status=ScenarioVersion.Status.PUBLISHED).first()
        if previous is not None:
            previous.status = ScenarioVersion.Status.ARCHIVED
            previous.save(update_fields=["status"])
        version.status = ScenarioVersion.Status.PUBLISHED
        version.published_at = timezone.now()
        version.save(update_fields=["status", "published_at"])
        _mirror(scenario, version)
        audit_record(
            action="scenarios.version.published",
            actor=actor,
            obj=version,
            ip_address=ip_address,
            data={
                "scenario": scenario.slug,
                "number": version.number,
                "replaced": previous.number if previous else None,
            },
        )
    return version


def scenario_rollback(
    version: ScenarioVersion, *, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> ScenarioVersion:
    """Publish an older version again, as a new version number (history is never rewritten)."""
    with transaction.atomic():
        scenario = Scenario.objects.select_for_update().get(pk=version.scenario_id)
        if version.status != ScenarioVersion.Status.ARCHIVED:
            raise VersionStateError("only an earlier published version can be restored")
        definition_validate(version.definition)
        previous = scenario.versions.filter(status=ScenarioVersion.Status.PUBLISHED).first()
        if previous is not None:
            previous.status = ScenarioVersion.Status.ARCHIVED
            previous.save(update_fields=["status"])
        restored = ScenarioVersion.objects.create(
            scenario=scenario,
            number=_next_number(scenario),
            status=ScenarioVersion.Status.PUBLISHED,
            definition=version.definition,
            source=version.source,
            note=f"v{version.number} に戻す",
            created_by=actor,  # type: ignore[misc]  # the project's user model
            published_at=timezone.now(),
        )
        _mirror(scenario, restored)
        audit_record(
            action="scenarios.version.rolled_back",
            actor=actor,
            obj=restored,
            ip_address=ip_address,
            data={"scenario": scenario.slug, "from": version.number, "number": restored.number},
        )
    return restored


def _mirror(scenario: Scenario, version: ScenarioVersion) -> None:
    """The scenario's title, trigger words and disaster flag are those of its published version."""
    scenario.title = version.definition["title"]
    scenario.triggers = version.definition.get("triggers", [])
    scenario.is_disaster = bool(version.definition.get("disaster", False))
    scenario.save(update_fields=["title", "triggers", "is_disaster", "updated_at"])


def scenario_active_set(
    scenario: Scenario, active: bool, *, actor: AbstractBaseUser, ip_address: str | None = None
) -> None:
    with transaction.atomic():
        scenario.is_active = active
        scenario.save(update_fields=["is_active", "updated_at"])
        audit_record(
            action="scenarios.scenario.activated" if active else "scenarios.scenario.deactivated",
            actor=actor,
            obj=scenario,
            ip_address=ip_address,
        )


def scenario_import(
    content: bytes,
    *,
    actor: AbstractBaseUser | None = None,
    department: Department | None = None,
    publish: bool = False,
    ip_address: str | None = None,
) -> ScenarioVersion:
    """A YAML file becomes its scenario's draft (published at once with `publish`).
    Raises DefinitionInvalid, listing every problem in Japanese, and then changes nothing."""
    definition = definition_load(content)
    with transaction.atomic():
        version = scenario_draft_save(
            definition,
            source=content.decode("utf-8-sig"),
            actor=actor,
            department=department,
            ip_address=ip_address,
        )
        if publish:
            version = scenario_publish(version, actor=actor, ip_address=ip_address)
        audit_record(
            action="scenarios.scenario.imported",
            actor=actor,
            obj=version.scenario,
            ip_address=ip_address,
            data={"number": version.number, "published": publish, "bytes": len(content)},
        )
    return version


def scenario_export(version: ScenarioVersion) -> str:
    """The YAML of a version: as staff wrote it, or written out from the stored definition."""
    return version.source or definition_dump(version.definition)


def preview_user_id(username: str) -> str:
    """The LINE user id of a staff member's own test phone on linesim (stable per staff member)."""
    return "U" + uuid.uuid5(uuid.NAMESPACE_URL, f"madoguchi-preview:{username}").hex


def scenario_preview(
    version: ScenarioVersion,
    *,
    channel: Channel,
    line_user_id: str,
    actor: AbstractBaseUser,
    ip_address: str | None = None,
) -> Resident:
    """Start `version` (a draft too) for a test resident and push its first steps to their phone.
    From there the resident answers on the phone as with any published scenario."""
    resident = resident_get_or_create(channel, line_user_id)
    turn = Turn(channel=channel, resident=resident, event_type="preview", payload={})
    messages = scenario_start(turn, version)
    audit_record(
        action="scenarios.version.previewed",
        actor=actor,
        obj=version,
        ip_address=ip_address,
        data={"resident": resident.pk, "scenario": version.scenario.slug, "number": version.number},
    )
    if messages:
        transport_for(channel).push(
            channel,
            user_id=line_user_id,
            messages=messages,
            dedupe_key=f"scenario-preview:{version.pk}:{uuid.uuid4().hex}",
        )
    return resident
