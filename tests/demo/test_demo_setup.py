"""The demo city sets itself up, twice without harm, with a working login for every role."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import StaffProfile
from madoguchi.core.models import Channel
from madoguchi.demo.setup import DEMO_STAFF, demo_setup
from madoguchi.faq.models import FaqEntry
from madoguchi.inbox.models import CannedReply


def test_demo_setup_is_idempotent_and_every_role_can_sign_in(db):
    first = demo_setup()
    second = demo_setup()
    assert first == second
    assert StaffProfile.objects.count() == len(DEMO_STAFF)
    assert {p.user.username for p in StaffProfile.objects.select_related("user")} == {
        u for u, _r, _d in DEMO_STAFF
    }
    assert Channel.objects.get(slug="soudan").is_confidential
    assert not Channel.objects.get(slug="main").is_confidential
    assert FaqEntry.objects.exists()
    assert CannedReply.objects.filter(for_counseling=True).exists()

    client = Client()
    response = client.post(
        reverse("console:login"), {"username": first.username, "password": first.password}, follow=True
    )
    assert response.status_code == 200
    assert "ダッシュボード" in response.content.decode()
