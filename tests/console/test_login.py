"""Signing in: password policy, lockout, the second factor, session lifetime; refusals in Japanese."""

from __future__ import annotations

import time

import pyotp
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import StaffProfile
from madoguchi.accounts.services import staff_create
from madoguchi.console.access import SESSION_LOGIN_AT
from madoguchi.core.models import AuditEntry
from tests.console.conftest import PASSWORD


def login(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("console:login"), {"username": username, "password": password})


@pytest.fixture
def web() -> Client:
    return Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="192.0.2.20")


@pytest.mark.parametrize("weak", ["short1A!", "password1234", "123456789012", "kaname-dept"])
def test_weak_passwords_are_refused(db, weak):
    with pytest.raises(ValidationError):
        staff_create(username="kaname-dept", password=weak, role="dept_staff")


def test_wrong_password_is_refused_in_japanese_and_logged(web, make_staff):
    make_staff("delivery")
    response = login(web, "delivery-gomi", "wrong")
    assert response.status_code == 401
    assert "ユーザー名またはパスワードが正しくありません。" in response.content.decode()
    assert AuditEntry.objects.filter(action="accounts.login.failed").count() == 1
    assert login(web, "nobody", "wrong").status_code == 401  # same words for an unknown name


def test_five_failures_lock_the_account_even_with_the_right_password(web, make_staff, settings):
    make_staff("delivery")
    for _ in range(settings.MADOGUCHI_LOGIN_MAX_FAILURES):
        login(web, "delivery-gomi", "wrong")
    response = login(web, "delivery-gomi")
    assert response.status_code == 401
    assert "ロックされています" in response.content.decode()
    assert AuditEntry.objects.filter(action="accounts.login.locked").exists()
    with time_machine.travel(time.time() + settings.MADOGUCHI_LOGIN_LOCK_SECONDS + 1):
        assert login(web, "delivery-gomi").status_code == 302  # unlocked by time


def test_a_role_without_two_factor_signs_in_with_the_password(web, make_staff):
    make_staff("delivery")
    response = login(web, "delivery-gomi")
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert web.get("/console/").status_code == 200


def test_an_administrator_must_enrol_and_then_use_a_code(web, make_staff):
    make_staff("admin", None)
    response = login(web, "admin-all")
    assert response["Location"] == reverse("console:totp_setup")
    assert web.get("/console/").status_code == 302  # not signed in yet
    page = web.get(reverse("console:totp_setup")).content.decode()
    assert "data:image/svg+xml" in page  # the QR code
    secret = StaffProfile.objects.get(user__username="admin-all").totp_secret
    assert secret in page
    wrong = web.post(reverse("console:totp_setup"), {"code": "000000"})
    assert wrong.status_code == 401 and "確認コードが正しくありません" in wrong.content.decode()
    done = web.post(reverse("console:totp_setup"), {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    assert web.get("/console/staff/").status_code == 200

    # Next time: password, then a code; a code already used cannot be used again.
    again = Client(HTTP_HOST="127.0.0.1")
    assert login(again, "admin-all")["Location"] == reverse("console:login_totp")
    replay = again.post(reverse("console:login_totp"), {"code": pyotp.TOTP(secret).now()})
    assert replay.status_code == 401
    with time_machine.travel(time.time() + 30):
        ok = again.post(reverse("console:login_totp"), {"code": pyotp.TOTP(secret).now()})
        assert ok.status_code == 302


def test_wrong_codes_count_towards_the_lockout(web, make_staff, settings):
    profile = make_staff("auditor", None)
    profile.totp_secret = pyotp.random_base32()
    profile.totp_confirmed = True
    profile.save()
    login(web, "auditor-all")
    for _ in range(settings.MADOGUCHI_LOGIN_MAX_FAILURES):
        web.post(reverse("console:login_totp"), {"code": "123456"})
    response = web.post(reverse("console:login_totp"), {"code": pyotp.TOTP(profile.totp_secret).now()})
    assert "ロックされています" in response.content.decode()


def test_the_code_page_without_a_password_first_goes_back_to_login(web, db):
    assert web.get(reverse("console:login_totp"))["Location"] == reverse("console:login")
    assert web.post(reverse("console:login_totp"), {"code": "123456"})["Location"] == reverse("console:login")


def test_a_session_ends_after_its_absolute_lifetime(web, make_staff, settings):
    make_staff("delivery")
    login(web, "delivery-gomi")
    session = web.session
    session[SESSION_LOGIN_AT] = time.time() - settings.MADOGUCHI_SESSION_MAX_SECONDS - 1
    session.save()
    response = web.get("/console/")
    assert response.status_code == 302 and "reason=expired" in response["Location"]
    assert "セッションの有効期限が切れました" in web.get(response["Location"]).content.decode()


def test_next_never_leads_off_site(web, make_staff):
    make_staff("delivery")
    response = web.post(
        reverse("console:login"),
        {"username": "delivery-gomi", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/console/"


def test_login_form_needs_csrf(make_staff):
    make_staff("delivery")
    strict = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    assert login(strict, "delivery-gomi").status_code == 403


def test_security_headers_and_csp(web, db):
    response = web.get(reverse("console:login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.content.decode()  # no inline script for the CSP to block


def test_create_staff_command_applies_the_password_policy(db, monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("MADOGUCHI_STAFF_PASSWORD", "short")
    with pytest.raises(CommandError):
        call_command("create_staff", "it-admin", "--role", "admin")
    monkeypatch.setenv("MADOGUCHI_STAFF_PASSWORD", "Tokaido-Line-Kyoto-1964")
    call_command("create_staff", "it-admin", "--role", "admin")
    assert StaffProfile.objects.get(user__username="it-admin").role == "admin"
