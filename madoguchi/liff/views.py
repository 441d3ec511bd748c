"""The residents' LIFF pages: the entry LINE opens, the sign-in with LINE's ID token, the terms,
and registration (the same page edits it, filled in with what is registered)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.channels.base import ChannelError
from madoguchi.channels.line.login import IdTokenRejected, id_token_verify
from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.core.remote import FailureBrake, client_ip
from madoguchi.liff.forms import RegistrationForm
from madoguchi.liff.pages import liff_channel, page_language, render_page
from madoguchi.liff.session import LiffVisitor, session_begin, session_end, session_visitor
from madoguchi.registration.messages import summary
from madoguchi.registration.services import registration_confirm_later
from madoguchi.residents.models import Resident
from madoguchi.residents.services import RegistrationError, resident_get_or_create, resident_register

logger = logging.getLogger(__name__)

MAX_STATE = 500


def _state_target(state: str) -> str | None:
    """Where `liff.state` (the rest of the LIFF URL) leads, if it stays among these pages."""
    if not state or len(state) > MAX_STATE or not state.isprintable() or "\\" in state:
        return None
    if not state.startswith(("/", "?")) or state.startswith("//"):
        return None
    path = state.split("?", 1)[0]
    if ".." in path.split("/") or ":" in path:
        return None
    return "/liff/" + state.lstrip("/")


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The LIFF app's endpoint URL: each time LINE opens the app it comes here first, so the
    session of whoever used this browser before is dropped, and the page asked for is opened."""
    target = _state_target(request.GET.get("liff.state", ""))
    if target is None:
        slug = request.GET.get("channel", "")
        target = reverse("liff:register") + (f"?{urlencode({'channel': slug})}" if slug else "")
    response = redirect(target)
    session_end(response)
    return response


# An address whose ID tokens LINE keeps refusing is not a resident: it is not let to make us
# ask LINE again and again (LINE rate-limits the channel, and residents would pay for it).
SIGNIN_BRAKE = FailureBrake("liff-signin", limit=20, window=600)


@require_POST
def session_start(request: HttpRequest) -> JsonResponse:
    """The page sends the ID token LIFF gave it; LINE tells us whose it is."""
    channel = liff_channel(request.POST.get("channel", ""))
    if channel is None:
        return JsonResponse({"error": _("このページは、いまは使えません。")}, status=404)
    if SIGNIN_BRAKE.engaged(request):
        return JsonResponse(
            {"error": _("確認に何度も失敗しました。しばらく待ってから、もう一度開いてください。")},
            status=429,
        )
    try:
        login = id_token_verify(channel, request.POST.get("id_token", ""))
    except IdTokenRejected as rejected:
        SIGNIN_BRAKE.failed(request)
        logger.warning("LIFF sign-in refused on %s from %s: %s", channel.slug, client_ip(request), rejected)
        return JsonResponse(
            {"error": _("LINE で本人の確認ができませんでした。画面を閉じて、もう一度開いてください。")},
            status=403,
        )
    except ChannelError:
        return JsonResponse(
            {"error": _("いま LINE につながりにくくなっています。少し待ってから、もう一度開いてください。")},
            status=503,
        )
    resident = resident_get_or_create(channel, login.user_id)
    response = JsonResponse({"ok": True})
    session_begin(response, resident)
    return response


@ensure_csrf_cookie
def _signin(request: HttpRequest) -> HttpResponse:
    """No session yet: the page gets the ID token from LIFF, signs in and loads again."""
    channel = liff_channel(request.GET.get("channel", ""))
    language = page_language(request, None)
    if channel is None:
        return render_page(request, "liff/unavailable.html", {}, language=language, channel=None, status=404)
    return render_page(request, "liff/signin.html", {}, language=language, channel=channel)


def _expired(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "liff/expired.html",
        {},
        language=page_language(request, None),
        channel=liff_channel(request.GET.get("channel", "")),
        status=403,
    )


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    visitor = session_visitor(request)
    return render_page(
        request,
        "liff/terms.html",
        {"terms_version": settings.MADOGUCHI_TERMS_VERSION},
        language=page_language(request, visitor.resident if visitor else None),
        channel=visitor.channel if visitor else liff_channel(request.GET.get("channel", "")),
    )


def _initial(resident: Resident) -> dict[str, Any]:
    language = resident.reply_language if resident.language else ""
    return {
        "audience": resident.audience,
        "district": resident.district_id,
        "age_band": resident.age_band,
        "interests": [interest.pk for interest in resident.interests.all()],
        "language": language if language in dict(LANGUAGES) else "",
        "consent": bool(resident.terms_version)
        and resident.terms_version == settings.MADOGUCHI_TERMS_VERSION,
    }


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponseBase:
    visitor = session_visitor(request)
    if visitor is None:
        return _expired(request) if request.method == "POST" else _signin(request)
    if visitor.channel.is_confidential:  # a counseling line keeps no such profile
        return render_page(
            request, "liff/unavailable.html", {}, language="ja", channel=visitor.channel, status=404
        )
    resident = visitor.resident
    language = page_language(request, resident)
    if request.method == "POST":
        form = RegistrationForm(request.POST, language=language, children=request.POST.getlist("child"))
        saved = _save(form, visitor, language)
        if saved is not None:
            return redirect(
                f"{reverse('liff:registered')}?{urlencode({'lang': page_language(request, saved)})}"
            )
        children = [value[:10] for value in form.children_raw[:10]]
    else:
        form = RegistrationForm(initial=_initial(resident), language=language)
        children = [child.birthdate.isoformat() for child in resident.children.all()]
    earliest, latest = RegistrationForm.child_bounds()
    return render_page(
        request,
        "liff/register.html",
        {
            "form": form,
            "resident": resident,
            "children": children or [""],
            "child_min": earliest,
            "child_max": latest,
            "terms_url": settings.MADOGUCHI_TERMS_URL,
            "terms_version": settings.MADOGUCHI_TERMS_VERSION,
        },
        language=language,
        channel=visitor.channel,
        status=400 if form.is_bound else 200,
    )


def _save(form: RegistrationForm, visitor: LiffVisitor, language: str) -> Resident | None:
    """Registers what the form holds (and has the bot confirm it in LINE); None if it cannot."""
    with translation.override(language):
        if not form.is_valid():
            return None
        data = form.cleaned_data
        try:
            with transaction.atomic():
                resident = resident_register(
                    visitor.resident,
                    terms_version=settings.MADOGUCHI_TERMS_VERSION,
                    audience=data["audience"],
                    district=data["district"],
                    age_band=data["age_band"],
                    interests=list(data["interests"]),
                    children=form.children,
                    language=data["language"] or None,
                )
                registration_confirm_later(resident)
        except RegistrationError as error:
            form.add_error(None, str(error))
            return None
    return resident


@require_GET
def registered(request: HttpRequest) -> HttpResponse:
    visitor = session_visitor(request)
    if visitor is None:
        return _expired(request)
    resident = visitor.resident
    language = page_language(request, resident)
    with translation.override(language):
        registered_summary = summary(resident)
    return render_page(
        request,
        "liff/registered.html",
        {"resident": resident, "summary": [line.lstrip("・") for line in registered_summary.splitlines()]},
        language=language,
        channel=visitor.channel,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted without a valid CSRF token. On LIFF pages: the page is stale, so say so
    plainly; elsewhere (the console) Django's own page."""
    if request.path.startswith("/liff/"):
        return _expired(request)
    return django_csrf_failure(request, reason)
