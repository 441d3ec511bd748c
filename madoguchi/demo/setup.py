"""The demo city みどり市: its LINE channel (matching linesim's defaults), a staff login, keywords.

Idempotent: running it again updates what it made and creates nothing twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from madoguchi.accounts.roles import Role
from madoguchi.chatbot.models import Keyword
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.faq.services import faq_import
from madoguchi.scenarios.definition import definition_load
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.services import scenario_import

# linesim's default channel (docs/linesim.md); only ever used against linesim.
DEMO_CHANNEL_ID = "2000000001"
DEMO_CHANNEL_SECRET = "linesim-demo-secret"
DEMO_ACCESS_TOKEN = "linesim-demo-token"
DEPARTMENTS = [
    ("gomi", "ごみ減量課"),
    ("doro", "道路維持課"),
    ("bosai", "防災課"),
    ("koho", "広報課"),
    ("fukushi", "福祉課"),
]
# (username, role, department code). Roles marked with two-factor set it up at first sign-in.
DEMO_STAFF = [
    ("demo-manager", Role.DEPT_MANAGER, "gomi"),
    ("demo-staff", Role.DEPT_STAFF, "doro"),
    ("demo-pr", Role.DELIVERY, "koho"),
    ("demo-admin", Role.ADMIN, None),
    ("demo-auditor", Role.AUDITOR, None),
    ("demo-counselor", Role.COUNSELOR, "fukushi"),
]
DEMO_USERNAME = "demo-manager"

DEMO_KEYWORDS = [
    ("ヘルプ", Keyword.Match.EXACT, "知りたいことを短い言葉で送ってください。例: 粗大ごみ、住民票、避難所"),
    ("こんにちは", Keyword.Match.CONTAINS, "こんにちは。みどり市公式 LINE です。ご用件をどうぞ。"),
]


@dataclass
class DemoLogin:
    username: str
    password: str


@transaction.atomic
def demo_setup() -> DemoLogin:
    Channel.objects.update_or_create(
        slug="main",
        defaults={
            "name": "みどり市公式",
            "provider_channel_id": DEMO_CHANNEL_ID,
            "channel_secret": DEMO_CHANNEL_SECRET,
            "access_token": DEMO_ACCESS_TOKEN,
            "token_kind": Channel.TokenKind.LONG_LIVED,
            "is_active": True,
        },
    )
    for phrase, match, reply in DEMO_KEYWORDS:
        Keyword.objects.update_or_create(
            phrase=phrase, channel=None, defaults={"match": match, "reply_text": reply}
        )
    login = DemoLogin(DEMO_USERNAME, _demo_password())
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = True
    user.is_superuser = True
    user.set_password(login.password)
    user.save()
    # The みどり市 FAQ (CC0, written for this project): see madoguchi/faq/data/SOURCE.md.
    faq_import(
        (Path(__file__).parent.parent / "faq" / "data" / "midori-faq.csv").read_bytes(), "midori-faq.csv"
    )
    _demo_scenarios()
    audit_record(action="demo.setup", data={"staff_created": created})
    return login


def _demo_scenarios() -> None:
    """台風被災者支援 and 子育て支援ガイド (madoguchi/scenarios/data), published; a file that
    changed is published as a new version, an unchanged one is left alone."""
    for path in sorted((Path(__file__).parent.parent / "scenarios" / "data").glob("*.yaml")):
        content = path.read_bytes()
        published = ScenarioVersion.objects.filter(
            scenario__slug=definition_load(content)["slug"], status=ScenarioVersion.Status.PUBLISHED
        ).first()
        if published is None or published.source != content.decode("utf-8-sig"):
            scenario_import(content, publish=True)


def _demo_password() -> str:
    """A random password kept in the data folder, so the demo login survives restarts."""
    path = settings.DATA_DIR / "demo-login.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
