"""Versions (draft → published → archived, roll back as a new version), audit, and the commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.core.models import AuditEntry
from madoguchi.scenarios.definition import DefinitionInvalid
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.services import (
    VersionStateError,
    scenario_export,
    scenario_import,
    scenario_publish,
    scenario_rollback,
)
from tests.scenarios.conftest import DATA

V1 = """# 職員のメモはそのまま残る
slug: gomi
title: ごみ
triggers: [ごみ案内]
steps:
  - {id: a, kind: end, text: 版1}
"""


def statuses(scenario: Scenario) -> list[tuple[int, str]]:
    return list(scenario.versions.order_by("number").values_list("number", "status"))


def test_publish_archives_the_previous_version_and_rollback_adds_a_new_one(db):
    v1 = scenario_import(V1.encode(), publish=True)
    scenario = v1.scenario
    assert statuses(scenario) == [(1, "published")]
    draft = scenario_import(V1.replace("版1", "版2").replace("title: ごみ", "title: ごみの案内").encode())
    assert statuses(scenario) == [(1, "published"), (2, "draft")]
    scenario.refresh_from_db()
    assert scenario.title == "ごみ"  # residents still get version 1
    again = scenario_import(V1.replace("版1", "版2b").replace("title: ごみ", "title: ごみの案内").encode())
    assert again.pk == draft.pk  # one draft at a time, edited in place
    scenario_publish(again)
    scenario.refresh_from_db()
    assert statuses(scenario) == [(1, "archived"), (2, "published")]
    assert scenario.title == "ごみの案内"
    with pytest.raises(VersionStateError):
        scenario_publish(again)  # already published
    restored = scenario_rollback(ScenarioVersion.objects.get(scenario=scenario, number=1))
    assert statuses(scenario) == [(1, "archived"), (2, "archived"), (3, "published")]
    assert restored.definition == v1.definition and restored.note == "v1 に戻す"
    scenario.refresh_from_db()
    assert scenario.title == "ごみ"  # the title follows the published version
    with pytest.raises(VersionStateError):
        scenario_rollback(restored)  # it is the published one
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    for action in (
        "scenarios.version.saved",
        "scenarios.version.published",
        "scenarios.version.rolled_back",
        "scenarios.scenario.imported",
    ):
        assert action in actions


def test_a_refused_import_changes_nothing(db):
    with pytest.raises(DefinitionInvalid):
        scenario_import(b"slug: gomi\ntitle: x\nsteps:\n  - {id: a, kind: goto, step: a}\n")
    assert (
        not Scenario.objects.exists()
        and not AuditEntry.objects.filter(action__startswith="scenarios").exists()
    )


def test_export_keeps_what_staff_wrote(db):
    version = scenario_import(V1.encode())
    assert scenario_export(version) == V1
    version.source = ""
    assert "title: ごみ" in scenario_export(version)


def test_import_and_export_commands(db, tmp_path):
    out = io.StringIO()
    call_command("scenario", "import", str(DATA / "typhoon-support.yaml"), "--publish", stdout=out)
    assert out.getvalue().strip() == "typhoon-support: version 1 published"
    exported = io.StringIO()
    call_command("scenario", "export", "typhoon-support", stdout=exported)
    assert exported.getvalue() == (DATA / "typhoon-support.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(V1.replace("text: 版1", "text: {fr: x}"), encoding="utf-8")
    errors = io.StringIO()
    with pytest.raises(CommandError, match="not imported"):
        call_command("scenario", "import", str(broken), stderr=errors)
    assert "ステップ「a」の text: 言語コード fr は使えません" in errors.getvalue()
    with pytest.raises(CommandError, match="no such file"):
        call_command("scenario", "import", str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="no scenario"):
        call_command("scenario", "export", "nothing")
    with pytest.raises(CommandError, match="no such version"):
        call_command("scenario", "export", "typhoon-support", "--version", "9")


def test_the_demo_setup_publishes_both_flows(db, settings, tmp_path):
    from madoguchi.demo.setup import demo_setup

    settings.DATA_DIR = tmp_path
    demo_setup()
    demo_setup()  # idempotent: the same definitions publish no new version
    published = ScenarioVersion.objects.filter(status=ScenarioVersion.Status.PUBLISHED)
    assert sorted(published.values_list("scenario__slug", "number")) == [
        ("kosodate-guide", 1),
        ("typhoon-support", 1),
    ]
