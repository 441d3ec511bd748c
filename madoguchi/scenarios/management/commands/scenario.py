"""`madoguchi scenario import FILE [--publish]` and `madoguchi scenario export SLUG [--version N]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.scenarios.definition import MAX_YAML_BYTES, DefinitionInvalid
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.services import scenario_export, scenario_import


class Command(BaseCommand):
    help = "Import and export scenarios as YAML (docs/scenarios.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importing = sub.add_parser("import", help="save a YAML file as its scenario's draft")
        importing.add_argument("file")
        importing.add_argument("--publish", action="store_true", help="publish the draft at once")
        exporting = sub.add_parser("export", help="print a scenario as YAML (the published version)")
        exporting.add_argument("slug")
        exporting.add_argument("--version", type=int, help="this version number instead")
        exporting.add_argument("--draft", action="store_true", help="the draft instead")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            if path.stat().st_size > MAX_YAML_BYTES:
                raise CommandError(f"{path}: larger than {MAX_YAML_BYTES} bytes")
            try:
                version = scenario_import(path.read_bytes(), publish=options["publish"])
            except DefinitionInvalid as exc:
                for line in exc.errors:
                    self.stderr.write(line)
                raise CommandError(f"{path.name}: not imported ({len(exc.errors)} problems)") from None
            self.stdout.write(f"{version.scenario.slug}: version {version.number} {version.status}")
            return
        scenario = Scenario.objects.filter(slug=options["slug"]).first()
        if scenario is None:
            raise CommandError(f"no scenario {options['slug']!r}")
        versions = scenario.versions.all()
        if options["version"] is not None:
            chosen = versions.filter(number=options["version"]).first()
        elif options["draft"]:
            chosen = versions.filter(status=ScenarioVersion.Status.DRAFT).first()
        else:
            chosen = versions.filter(status=ScenarioVersion.Status.PUBLISHED).first() or versions.first()
        if chosen is None:
            raise CommandError("no such version")
        self.stdout.write(scenario_export(chosen), ending="")
