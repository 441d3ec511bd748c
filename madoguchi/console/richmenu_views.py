"""Rich menus in the console: the list with what LINE shows now, the editor (grid, image with a
live preview of its cells, an action per cell), putting menus on LINE, and the disaster switch
with its confirmation page. Every page of the console shows a banner while disaster mode is on
(`disaster_banner`, a context processor)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import Perm
from madoguchi.console.access import client_ip, staff_view
from madoguchi.residents.models import Resident
from madoguchi.richmenus.cells import FEATURES, KINDS, SCENARIO_START, features_available
from madoguchi.richmenus.grids import GRIDS
from madoguchi.richmenus.images import MAX_BYTES
from madoguchi.richmenus.models import Audience, DisasterMode, RichMenu, SyncJob
from madoguchi.richmenus.services import (
    MenuInvalid,
    SwitchRefused,
    disaster_mode,
    disaster_mode_set,
    menu_deactivate,
    menu_save,
    menus_publish,
)
from madoguchi.scenarios.models import ScenarioVersion

MAX_CELLS = max(len(grid.cells) for grid in GRIDS.values())
# What an upload may weigh before we even read it: a little over LINE's limit, so the check
# can say how big the file was.
UPLOAD_MAX = MAX_BYTES * 5


def disaster_banner(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the banner across the console while disaster mode is on."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    mode = DisasterMode.objects.filter(pk=1, is_on=True).first()
    return {"disaster_mode": mode}


@staff_view(Perm.RICHMENU_MANAGE)
def richmenus(request: HttpRequest) -> HttpResponse:
    menus = list(
        RichMenu.objects.filter(is_active=True)
        .select_related("updated_by")
        .prefetch_related("platform_menus")
    )
    synced = {
        (p.menu_id, p.revision)
        for menu in menus
        for p in menu.platform_menus.all()
        if p.image_uploaded and p.deleted_at is None
    }
    rows = [
        {"menu": menu, "synced": (menu.pk, menu.revision) in synced, "grid": menu.grid_spec} for menu in menus
    ]
    jobs = list(SyncJob.objects.select_related("channel", "created_by")[:10])
    return render(
        request,
        "console/richmenus.html",
        {
            "rows": rows,
            "jobs": jobs,
            "inactive": RichMenu.objects.filter(is_active=False).count(),
            "mode": disaster_mode(),
        },
    )


def _cells_from(request: HttpRequest, count: int) -> list[dict[str, str]]:
    return [
        {
            "kind": request.POST.get(f"cell-{n}-kind", ""),
            "label": request.POST.get(f"cell-{n}-label", "")[:100],
            "value": request.POST.get(f"cell-{n}-value", "")[:2000],
        }
        for n in range(count)
    ]


def _editor(request: HttpRequest, menu: RichMenu | None) -> HttpResponse:
    errors: list[str] = []
    values: dict[str, Any] = {
        "slug": menu.slug if menu else "",
        "title": menu.title if menu else "",
        "audience": menu.audience if menu else Audience.RESIDENT,
        "is_disaster": menu.is_disaster if menu else request.GET.get("disaster") == "1",
        "tab_order": menu.tab_order if menu else 0,
        "grid": menu.grid if menu else "large6",
        "chat_bar_text": menu.chat_bar_text if menu else _("メニュー"),
        "cells": list(menu.cells) if menu else [],
    }
    if request.method == "POST":
        grid = request.POST.get("grid", "")
        try:
            tab_order = int(request.POST.get("tab_order", "0") or 0)
        except ValueError:
            tab_order = -1
        values = {
            "slug": request.POST.get("slug", "").strip()[:100],
            "title": request.POST.get("title", "")[:200],
            "audience": request.POST.get("audience", ""),
            "is_disaster": request.POST.get("is_disaster") == "on",
            "tab_order": tab_order,
            "grid": grid,
            "chat_bar_text": request.POST.get("chat_bar_text", "")[:100],
            "cells": _cells_from(request, len(GRIDS[grid].cells) if grid in GRIDS else 0),
        }
        upload = request.FILES.get("image")
        image = None
        if upload is not None:
            if upload.size is not None and upload.size > UPLOAD_MAX:
                errors.append(_("画像が大きすぎます。LINE の上限は 1 MB (1000 KB) です。"))
            else:
                image = upload.read()
        if not errors:
            try:
                saved = menu_save(
                    menu,
                    image=image,
                    actor=request.user,  # type: ignore[arg-type]
                    ip_address=client_ip(request),
                    **values,
                )
            except MenuInvalid as exc:
                errors = exc.errors
            else:
                messages.success(
                    request, _("保存しました。「LINE に反映」を押すと住民のメニューが変わります。")
                )
                return redirect("console:richmenu_edit", menu_id=saved.pk)
    cells = values["cells"] + [{"kind": "", "label": "", "value": ""}] * MAX_CELLS
    scenario_slugs = (
        ScenarioVersion.objects.filter(status=ScenarioVersion.Status.PUBLISHED)
        .values_list("scenario__slug", flat=True)
        .order_by("scenario__slug")
    )
    tabs = RichMenu.objects.filter(is_active=True, is_disaster=False).exclude(pk=menu.pk if menu else 0)
    return render(
        request,
        "console/richmenu_edit.html",
        {
            "menu": menu,
            "values": values,
            "cells": cells[:MAX_CELLS],
            "errors": errors,
            "grids": list(GRIDS.values()),
            "audiences": Audience.choices,
            "kinds": KINDS,
            "features": [(k, v) for k, v in features_available() if k != SCENARIO_START],
            "all_features": FEATURES,
            "scenario_starts": [f"{SCENARIO_START}:{slug}" for slug in scenario_slugs],
            "tabs": tabs,
        },
        status=400 if errors else 200,
    )


@staff_view(Perm.RICHMENU_MANAGE)
def richmenu_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@staff_view(Perm.RICHMENU_MANAGE)
def richmenu_edit(request: HttpRequest, menu_id: int) -> HttpResponse:
    return _editor(request, get_object_or_404(RichMenu, pk=menu_id))


@staff_view(Perm.RICHMENU_MANAGE)
def richmenu_image(request: HttpRequest, menu_id: int) -> HttpResponse:
    menu = get_object_or_404(RichMenu, pk=menu_id)
    if not menu.image:
        return HttpResponse(status=404)
    response = HttpResponse(bytes(menu.image), content_type=menu.image_type)
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_view(Perm.RICHMENU_MANAGE)
def richmenu_deactivate(request: HttpRequest, menu_id: int) -> HttpResponse:
    menu = get_object_or_404(RichMenu, pk=menu_id, is_active=True)
    try:
        menu_deactivate(menu, actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    except SwitchRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("「%(title)s」を使わないようにしました。LINE に反映すると消えます。") % {"title": menu}
        )
    return redirect("console:richmenus")


@require_POST
@staff_view(Perm.RICHMENU_MANAGE)
def richmenus_publish(request: HttpRequest) -> HttpResponse:
    menus_publish(actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    messages.success(request, _("LINE への反映を始めました。進み具合は下の表に出ます。"))
    return redirect("console:richmenus")


@staff_view(Perm.DISASTER_SWITCH)
def disaster_switch(request: HttpRequest) -> HttpResponse:
    """GET: what switching will do, and a confirmation; POST (confirmed): the switch."""
    mode = disaster_mode()
    error = ""
    if request.method == "POST":
        wanted = request.POST.get("switch") == "on"
        if wanted == mode.is_on:
            error = _("状態がすでに変わっています。画面を読み込み直して確かめてください。")
        elif request.POST.get("confirm") != "yes":
            error = _("確認のチェックを入れてください。")
        else:
            try:
                disaster_mode_set(
                    wanted,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=request.POST.get("reason", "")[:300],
                    ip_address=client_ip(request),
                )
            except SwitchRefused as exc:
                error = str(exc)
            else:
                messages.success(
                    request,
                    _("災害モードを開始しました。全員のメニューを災害時のメニューに切り替えています。")
                    if wanted
                    else _("災害モードを終了しました。各住民のメニューを元に戻しています。"),
                )
                return redirect("console:richmenus")
    counts = {
        row["audience"]: row["n"]
        for row in Resident.objects.filter(status=Resident.Status.ACTIVE, anonymised_at__isnull=True)
        .values("audience")
        .annotate(n=Count("id"))
    }
    audiences = [
        (label, counts.get("" if code == Audience.DEFAULT else code, 0)) for code, label in Audience.choices
    ]
    disaster_menu = RichMenu.objects.filter(is_active=True, is_disaster=True).first()
    return render(
        request,
        "console/disaster_switch.html",
        {
            "mode": mode,
            "error": error,
            "audiences": audiences,
            "total": sum(n for _label, n in audiences),
            "disaster_menu": disaster_menu,
        },
        status=400 if error else 200,
    )
