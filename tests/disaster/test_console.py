"""The shelters page: who may open it, one-tap status (CSRF, audited), the upload."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from madoguchi.core.models import AuditEntry
from madoguchi.disaster.models import Shelter
from madoguchi.disaster.services import shelter_import
from tests.console.conftest import ALL_ROLES, signed_in
from tests.disaster.conftest import NANAO

MAY_SET_STATUS = {"admin", "delivery", "dept_staff", "dept_manager"}
MAY_IMPORT = {"admin", "dept_manager"}


@pytest.fixture
def shelters(db: None) -> list[Shelter]:
    shelter_import(NANAO.read_bytes(), NANAO.name)
    return list(Shelter.objects.order_by("pk"))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_against_the_shelter_pages(staff_client, shelters, role):
    client = staff_client(role)
    shelter = shelters[0]
    page = client.get(reverse("console:shelters"))
    tap = client.post(reverse("console:shelter_status", args=[shelter.pk]), {"status": "open"})
    upload = client.post(
        reverse("console:shelters_import"), {"file": SimpleUploadedFile("s.csv", NANAO.read_bytes())}
    )
    shelter.refresh_from_db()
    if role in MAY_SET_STATUS:
        assert page.status_code == 200 and tap.status_code == 302
        assert shelter.status == "open"
    else:
        assert page.status_code == tap.status_code == 403
        assert shelter.status == "closed"
    assert upload.status_code == (302 if role in MAY_IMPORT else 403)


def test_a_tap_sets_the_status_audits_it_and_returns_to_the_card(staff_client, shelters):
    client = staff_client("dept_staff")
    shelter = Shelter.objects.get(name="七尾中学校")
    back = reverse("console:shelters") + "?status=closed"
    response = client.post(
        reverse("console:shelter_status", args=[shelter.pk]), {"status": "full", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == f"{back}#shelter-{shelter.pk}"
    shelter.refresh_from_db()
    assert shelter.status == "full" and shelter.status_changed_by is not None
    entry = AuditEntry.objects.get(action="disaster.shelter.status_changed")
    assert (
        entry.object_id == str(shelter.pk) and entry.data["from"] == "closed" and entry.data["to"] == "full"
    )
    assert entry.ip_address == "192.0.2.10"
    # The same tap again changes nothing and logs nothing.
    client.post(reverse("console:shelter_status", args=[shelter.pk]), {"status": "full"})
    assert AuditEntry.objects.filter(action="disaster.shelter.status_changed").count() == 1
    # Another site's page may not be used to send staff elsewhere.
    response = client.post(
        reverse("console:shelter_status", args=[shelter.pk]),
        {"status": "open", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"{reverse('console:shelters')}#shelter-{shelter.pk}"
    assert (
        client.post(reverse("console:shelter_status", args=[shelter.pk]), {"status": "burning"}).status_code
        == 302
    )
    shelter.refresh_from_db()
    assert shelter.status == "open"
    assert client.get(reverse("console:shelter_status", args=[shelter.pk])).status_code == 405


def test_the_page_lists_sites_with_three_buttons_each(staff_client, shelters):
    Shelter.objects.filter(name="七尾中学校").update(status="open")
    page = staff_client("dept_staff").get(reverse("console:shelters"), {"q": "七尾中学校"}).content.decode()
    assert page.count('data-testid="shelter"') == 1
    assert page.count('name="status" value=') == 3
    assert 'aria-pressed="true">開設</button>' in page
    assert "出典：石川県・七尾市" in page
    assert "開設: <strong>1</strong>" in page


def test_a_status_tap_without_the_csrf_token_is_refused(make_staff, shelters):
    client = signed_in(make_staff("dept_staff"))
    client.handler.enforce_csrf_checks = True
    shelter = shelters[0]
    response = client.post(reverse("console:shelter_status", args=[shelter.pk]), {"status": "open"})
    assert response.status_code == 403
    shelter.refresh_from_db()
    assert shelter.status == "closed"


def test_a_signed_out_visitor_is_sent_to_login(client: Client, shelters):
    response = client.post(reverse("console:shelter_status", args=[shelters[0].pk]), {"status": "open"})
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_the_upload_imports_and_refuses_bad_files_in_japanese(staff_client, db):
    client = staff_client("dept_manager")
    response = client.post(
        reverse("console:shelters_import"),
        {"file": SimpleUploadedFile("nanao.csv", NANAO.read_bytes()), "format": "standard"},
        follow=True,
    )
    assert "取り込みました: 新規 112 か所" in response.content.decode()
    bad = "ID,名称,緯度,経度\nX1,=cmd|' /C calc'!A0,37.0,137.0\n".encode("utf-16")
    response = client.post(
        reverse("console:shelters_import"), {"file": SimpleUploadedFile("bad.csv", bad)}, follow=True
    )
    assert "テキスト(CSV)ではないファイルです" in response.content.decode()
    response = client.post(
        reverse("console:shelters_import"),
        {"file": SimpleUploadedFile("nanao.csv", NANAO.read_bytes()), "format": "gsi"},
        follow=True,
    )
    assert "国土地理院形式を指定しましたが" in response.content.decode()
    assert Shelter.objects.count() == 112
