"""Staff sign-in: password, then the second factor (TOTP), with lockout after failures."""

from __future__ import annotations

import time

import segno
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from madoguchi.accounts.access import staff_profile, totp_required
from madoguchi.accounts.models import StaffProfile
from madoguchi.accounts.services import (
    login_failed,
    login_succeeded,
    totp_check,
    totp_confirm,
    totp_enrolment_start,
)
from madoguchi.console.access import SESSION_LOGIN_AT, SESSION_MFA, SESSION_PENDING, client_ip

# A password accepted but no code given within this long: start again.
PENDING_SECONDS = 300


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/console/"


def _locked_message(profile: StaffProfile) -> str:
    assert profile.locked_until is not None
    minutes = max(1, int((profile.locked_until.timestamp() - time.time()) // 60) + 1)
    message = _("ログインに続けて失敗したため、このアカウントはロックされています。")
    return message + _("%(minutes)d 分後にもう一度お試しください。") % {"minutes": minutes}


def _finish(request: HttpRequest, profile: StaffProfile, *, mfa: bool) -> HttpResponse:
    next_url = request.session.get("madoguchi_next", "/console/")
    login(request, profile.user, backend="django.contrib.auth.backends.ModelBackend")  # new session id
    request.session[SESSION_LOGIN_AT] = time.time()
    request.session[SESSION_MFA] = mfa
    login_succeeded(profile, ip_address=client_ip(request))
    return redirect(next_url)


def _pending(request: HttpRequest) -> StaffProfile | None:
    pending = request.session.get(SESSION_PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return StaffProfile.objects.select_related("user").filter(user_id=pending["user"]).first()


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.GET.get("reason") == "expired":
        error = _("セッションの有効期限が切れました。もう一度ログインしてください。")
    username = request.POST.get("username", "").strip()
    if request.method == "POST":
        # The password is always checked (Django hashes even for unknown names), so the time taken
        # does not tell whether a user name exists.
        authenticated = authenticate(request, username=username, password=request.POST.get("password", ""))
        user = get_user_model().objects.filter(username=username).first()
        profile = staff_profile(user) if user is not None else None
        if profile is not None and profile.is_locked:
            error = _locked_message(profile)
        elif profile is None or authenticated is None:
            error = _("ユーザー名またはパスワードが正しくありません。")
            if profile is not None:
                login_failed(profile, ip_address=client_ip(request), reason="password")
                profile.refresh_from_db()
                if profile.is_locked:
                    error = _locked_message(profile)
        else:
            logout(request)  # a fresh session for the signed-in person
            request.session["madoguchi_next"] = _next_url(request)
            if not totp_required(profile):
                return _finish(request, profile, mfa=False)
            request.session[SESSION_PENDING] = {"user": profile.user_id, "at": time.time()}
            return redirect("console:login_totp" if profile.totp_confirmed else "console:totp_setup")
    return render(
        request,
        "console/login.html",
        {"error": error, "username": username, "next": _next_url(request)},
        status=200 if not error or request.method == "GET" else 401,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    profile = _pending(request)
    if profile is None:
        return redirect("console:login")
    error = ""
    if request.method == "POST":
        if profile.is_locked:
            error = _locked_message(profile)
        elif totp_check(profile, request.POST.get("code", "")):
            request.session.pop(SESSION_PENDING, None)
            return _finish(request, profile, mfa=True)
        else:
            login_failed(profile, ip_address=client_ip(request), reason="totp")
            profile.refresh_from_db()
            error = (
                _locked_message(profile)
                if profile.is_locked
                else _(
                    "確認コードが正しくありません。認証アプリに表示されている 6 桁の数字を入力してください。"
                )
            )
    return render(request, "console/login_totp.html", {"error": error}, status=401 if error else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    """First sign-in of a role that needs two factors: scan the QR code, confirm one code."""
    profile = _pending(request)
    if profile is None or profile.totp_confirmed:
        return redirect("console:login")
    error = ""
    if request.method == "POST":
        if totp_confirm(profile, request.POST.get("code", "")):
            request.session.pop(SESSION_PENDING, None)
            return _finish(request, profile, mfa=True)
        error = _("確認コードが正しくありません。もう一度読み取ってからお試しください。")
    enrolment = totp_enrolment_start(profile)
    qr = segno.make(enrolment.uri, error="m").svg_data_uri(scale=4)
    return render(
        request,
        "console/totp_setup.html",
        {"error": error, "secret": enrolment.secret, "qr": qr},
        status=401 if error else 200,
    )


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:login")
