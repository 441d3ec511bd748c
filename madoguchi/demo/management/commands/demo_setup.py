from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.demo.setup import demo_setup


class Command(BaseCommand):
    help = "Create or update the demo city (channel, staff login, keywords)."

    def handle(self, *args: Any, **options: Any) -> None:
        login = demo_setup()
        self.stdout.write(f"staff login: {login.username} / {login.password}")
