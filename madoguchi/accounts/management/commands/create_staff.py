"""`madoguchi create_staff`: add a staff member from the command line (the first administrator)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create


class Command(BaseCommand):
    help = "Create a staff account. The password is asked for (or read from MADOGUCHI_STAFF_PASSWORD)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, required=True)
        parser.add_argument("--department", help="department code (for department staff and managers)")
        parser.add_argument("--name", default="", help="full name")

    def handle(
        self, *args: Any, username: str, role: str, department: str | None, name: str, **options: Any
    ) -> None:
        dept = None
        if department:
            dept = Department.objects.filter(code=department).first()
            if dept is None:
                raise CommandError(f"no department with code {department!r}")
        password = os.environ.get("MADOGUCHI_STAFF_PASSWORD") or getpass.getpass("password: ")
        try:
            staff_create(username=username, password=password, role=role, department=dept, full_name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"created {username} ({role})")
