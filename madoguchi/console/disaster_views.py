"""Disaster pages: shelters (a phone-friendly list with one-tap status buttons, the open-data
upload), the alerts received with what each produced, and safety confirmations (安否確認: start
one with a confirmation step, its roll-up by district refreshing itself, who needs help)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import has_permission
from madoguchi.accounts.roles import Perm
from madoguchi.console.access import staff_view
from madoguchi.core.models import Channel
from madoguchi.core.remote import client_ip
from madoguchi.disaster.feeds import redacted
from madoguchi.disaster.hazards import HAZARDS
from madoguchi.disaster.importers import FORMATS, MAX_FILE_BYTES, ImportRefused
from madoguchi.disaster.messages import CREDITS
from madoguchi.disaster.models import Alert, AlertFeed, SafetyAnswer, SafetyConfirmation, Shelter
from madoguchi.disaster.safety import safety_recipients
from madoguchi.disaster.selectors import safety_help_list, safety_rollup
from madoguchi.disaster.services import (
    SafetyRefused,
    safety_confirmation_close,
    safety_confirmation_start,
    shelter_import,
    shelter_status_set,
)
from madoguchi.residents.models import District

PAGE = 100


@staff_view(Perm.SHELTERS_STATUS)
def shelters(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    district = request.GET.get("district", "")
    shown = Shelter.objects.filter(is_active=True).select_related("district").order_by("name", "pk")
    if status in Shelter.Status.values:
        shown = shown.filter(status=status)
    if district.isdigit():
        shown = shown.filter(district_id=int(district))
    if query:
        shown = shown.filter(Q(name__icontains=query) | Q(address__icontains=query))
    page = Paginator(shown, PAGE).get_page(request.GET.get("page"))
    rows = [
        {"shelter": shelter, "hazards": [h.label for h in HAZARDS if getattr(shelter, h.code)]}
        for shelter in page
    ]
    counts = {
        value: Shelter.objects.filter(is_active=True, status=value).count() for value in Shelter.Status.values
    }
    sources = set(Shelter.objects.filter(is_active=True).values_list("source", flat=True).distinct())
    return render(
        request,
        "console/disaster/shelters.html",
        {
            "page": page,
            "rows": rows,
            "query": query,
            "status": status,
            "district": district,
            "districts": District.objects.filter(shelters__isnull=False).distinct(),
            "statuses": Shelter.Status.choices,
            "counts": [(label, counts[value]) for value, label in Shelter.Status.choices],
            "can_import": has_permission(request.user, Perm.SHELTERS_IMPORT),
            "formats": FORMATS,
            "credits": [text for source, text in CREDITS.items() if source in sources],
            "back": request.get_full_path(),
        },
    )


@require_POST
@staff_view(Perm.SHELTERS_STATUS)
def shelter_status(request: HttpRequest, shelter_id: int) -> HttpResponse:
    shelter = get_object_or_404(Shelter, pk=shelter_id, is_active=True)
    status = request.POST.get("status", "")
    if status not in Shelter.Status.values:
        messages.error(request, _("状況の指定が正しくありません。"))
    elif shelter_status_set(shelter, status=status, actor=request.user, ip_address=client_ip(request)):
        messages.success(
            request,
            _("「%(name)s」を %(status)s にしました。")
            % {"name": shelter.name, "status": Shelter.Status(status).label},
        )
    back = request.POST.get("next", "")
    if (
        back
        and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
        and back.startswith("/")
    ):
        return redirect(f"{back}#shelter-{shelter.pk}" if "#" not in back else back)
    return redirect(f"{reverse('console:shelters')}#shelter-{shelter.pk}")


@require_POST
@staff_view(Perm.SHELTERS_IMPORT)
def shelters_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    fmt = request.POST.get("format") or None
    if upload is None:
        messages.error(request, _("ファイルを選んでください。"))
        return redirect("console:shelters")
    if fmt is not None and fmt not in FORMATS:
        messages.error(request, _("形式の指定が正しくありません。"))
        return redirect("console:shelters")
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        messages.error(
            request, _("ファイルが大きすぎます(上限 %(max)s バイト)。") % {"max": f"{MAX_FILE_BYTES:,}"}
        )
        return redirect("console:shelters")
    try:
        report = shelter_import(upload.read(), (upload.name or "")[:100], fmt=fmt, actor=request.user)
    except ImportRefused as refused:
        messages.error(request, str(refused))
        return redirect("console:shelters")
    messages.success(
        request,
        _("取り込みました: 新規 %(created)d か所、更新 %(updated)d か所、取り込まなかった行 %(refused)d。")
        % {"created": report.created, "updated": report.updated, "refused": len(report.errors)},
    )
    for line in report.errors[:20]:
        messages.error(request, line)
    if len(report.errors) > 20:
        messages.error(
            request, _("ほか %(count)d 行を取り込みませんでした。") % {"count": len(report.errors) - 20}
        )
    return redirect("console:shelters")


@staff_view(Perm.ALERTS_VIEW)
def alerts(request: HttpRequest) -> HttpResponse:
    shown = Alert.objects.defer("raw").prefetch_related("produced__delivery", "produced__rule")
    page = Paginator(shown, 50).get_page(request.GET.get("page"))
    feeds = [
        {"feed": feed, "where": redacted(feed.url)}
        for feed in AlertFeed.objects.order_by("-is_active", "name", "pk")[:50]
    ]
    return render(
        request,
        "console/disaster/alerts.html",
        {
            "page": page,
            "feeds": feeds,
            "can_edit_rules": has_permission(request.user, Perm.ALERT_RULES_MANAGE),
        },
    )


# Safety confirmation (安否確認)

REASK_CHOICES = [
    ("", _("再送しない")),
    ("1", _("1 時間後")),
    ("3", _("3 時間後")),
    ("6", _("6 時間後")),
    ("12", _("12 時間後")),
    ("24", _("24 時間後")),
]


@staff_view(Perm.SAFETY_VIEW)
def safety_list(request: HttpRequest) -> HttpResponse:
    confirmations = SafetyConfirmation.objects.select_related("created_by")[:50]
    return render(
        request,
        "console/disaster/safety_list.html",
        {"confirmations": confirmations, "can_start": has_permission(request.user, Perm.SAFETY_START)},
    )


def _main_channel() -> Channel | None:
    return Channel.objects.filter(is_active=True, is_confidential=False).order_by("pk").first()


@staff_view(Perm.SAFETY_START)
def safety_new(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST: the confirmation page (who it reaches); POST confirmed: start it."""
    channel = _main_channel()
    districts = list(District.objects.order_by("sort_order", "code"))
    error = ""
    chosen: list[int] = []
    title = ""
    reask = ""
    preview = None
    if request.method == "POST":
        title = request.POST.get("title", "").strip()[:60]
        reask = request.POST.get("reask", "")
        known = {d.pk for d in districts}
        chosen = sorted({int(v) for v in request.POST.getlist("district") if v.isdigit() and int(v) in known})
        if channel is None:
            error = _("LINE アカウントが設定されていません。")
        elif not title:
            error = _("件名を入れてください。")
        elif reask not in dict(REASK_CHOICES):
            error = _("再送の指定が正しくありません。")
        elif request.POST.get("confirm") == "yes":
            try:
                confirmation = safety_confirmation_start(
                    actor=request.user,
                    channel=channel,
                    title=title,
                    district_ids=chosen,
                    reask_after=timedelta(hours=int(reask)) if reask else None,
                    ip_address=client_ip(request),
                )
            except SafetyRefused as refused:
                error = str(refused)
            else:
                messages.success(request, _("安否確認を送り始めました。"))
                return redirect("console:safety_detail", confirmation.pk)
        else:
            draft = SafetyConfirmation(channel=channel, title=title, district_ids=chosen)
            preview = {
                "recipients": safety_recipients(draft).count(),
                "districts": [d for d in districts if d.pk in chosen],
                "reask": dict(REASK_CHOICES)[reask],
            }
    return render(
        request,
        "console/disaster/safety_new.html",
        {
            "districts": districts,
            "chosen": chosen,
            "title_value": title,
            "reask": reask,
            "reask_choices": REASK_CHOICES,
            "error": error,
            "preview": preview,
        },
    )


@staff_view(Perm.SAFETY_VIEW)
def safety_detail(request: HttpRequest, confirmation_id: int) -> HttpResponse:
    confirmation = get_object_or_404(SafetyConfirmation, pk=confirmation_id)
    language = translation.get_language() or "ja"
    context = {
        "confirmation": confirmation,
        "rows": safety_rollup(confirmation, language),
        "statuses": SafetyAnswer.Status.choices,
    }
    if request.GET.get("fragment") == "1":
        return render(request, "console/disaster/safety_rows.html", context)
    can_help = has_permission(request.user, Perm.INBOX_HANDLE)
    context.update(
        {
            "help": safety_help_list(request.user, confirmation, ip_address=client_ip(request))
            if can_help
            else None,
            "can_start": has_permission(request.user, Perm.SAFETY_START),
            "can_see_delivery": has_permission(request.user, Perm.DELIVERIES_COMPOSE),
        }
    )
    return render(request, "console/disaster/safety_detail.html", context)


@require_POST
@staff_view(Perm.SAFETY_START)
def safety_close(request: HttpRequest, confirmation_id: int) -> HttpResponse:
    confirmation = get_object_or_404(SafetyConfirmation, pk=confirmation_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("確認のチェックを入れてください。"))
    elif safety_confirmation_close(confirmation, actor=request.user, ip_address=client_ip(request)):
        messages.success(request, _("安否確認の受付を終了しました。"))
    return redirect("console:safety_detail", confirmation.pk)
