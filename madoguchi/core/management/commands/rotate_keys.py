"""`madoguchi rotate_keys`: re-encrypt everything stored encrypted with the newest key.

Put the new key first in MADOGUCHI_ENCRYPTION_KEYS (keep the old ones after it), run this, then
remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.core.audit import audit_record
from madoguchi.core.crypto import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt secrets, counseling messages and sealed events with the first encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rotate_all()
        audit_record(action="core.keys.rotated", data=counts)
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
