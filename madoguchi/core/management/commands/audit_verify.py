"""`madoguchi audit_verify`: check that no audit entry was changed, removed or inserted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if report.problem:
            where = f"entry {report.broken_at}" if report.broken_at else "the chain's end"
            raise CommandError(
                f"audit log tampered with at {where}: {report.problem}"
                f" ({report.checked} entries fine before it)"
            )
        self.stdout.write(f"audit log intact: {report.checked} entries")
