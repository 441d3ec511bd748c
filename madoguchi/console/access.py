"""Every console view declares its permission with `staff_view`; this is the one check.

A view is reached only by a signed-in staff member who passed the second factor where it is
required, within the session's absolute lifetime, and whose role holds the permission. A
refusal is a Japanese 403 page and an audit entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from madoguchi.accounts.access import has_permission, staff_profile, totp_required
from madoguchi.accounts.roles import Perm
from madoguchi.core.audit import audit_record
from madoguchi.core.remote import client_ip

View = Callable[..., HttpResponseBase]

# Keys this console keeps in the session.
SESSION_LOGIN_AT = "madoguchi_login_at"
SESSION_MFA = "madoguchi_mfa"
SESSION_PENDING = "madoguchi_pending_user"


def _to_login(request: HttpRequest, reason: str = "") -> HttpResponse:
    query = {"next": request.get_full_path()}
    if reason:
        query["reason"] = reason
    return redirect(f"{reverse('console:login')}?{urlencode(query)}")


def signed_in_fully(request: HttpRequest) -> bool:
    """Signed in as staff, second factor passed where required, session within its lifetime."""
    profile = staff_profile(request.user)
    if profile is None:
        return False
    if time.time() - request.session.get(SESSION_LOGIN_AT, 0) > settings.MADOGUCHI_SESSION_MAX_SECONDS:
        return False
    return not (totp_required(profile) and not request.session.get(SESSION_MFA))


def admin_site_allowed(request: HttpRequest) -> bool:
    """The admin site (channel set-up) is the console's too: same login, same second factor."""
    return signed_in_fully(request) and has_permission(request.user, Perm.SETTINGS_MANAGE)


def admin_site_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin's own login page is never shown: strangers sign in to the console; staff without
    the permission get the console's refusal."""
    if staff_profile(request.user) is not None and signed_in_fully(request):
        return render(request, "console/denied.html", status=403)
    return _to_login(request)


def staff_view(permission: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if staff_profile(request.user) is None:
                return _to_login(request)
            if not signed_in_fully(request):
                logout(request)
                return _to_login(request, "expired")
            if not has_permission(request.user, permission):
                audit_record(
                    action="console.access.denied",
                    actor=request.user,
                    ip_address=client_ip(request),
                    data={"path": request.path[:200], "permission": permission},
                )
                return render(request, "console/denied.html", status=403)
            return view(request, *args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]  # read by tests and the menu
        return wrapper

    return decorate
