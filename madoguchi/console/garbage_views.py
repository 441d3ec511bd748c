"""The garbage department's pages: the sorting guide's items (search, edit, add), the categories
with their holiday policy, and each collection area's rules and month calendar."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import Perm
from madoguchi.console.access import staff_view
from madoguchi.garbage.attribution import credits_in_use
from madoguchi.garbage.calendar import describe, parse_rule
from madoguchi.garbage.importers import MAX_FILE_BYTES, ImportRefused
from madoguchi.garbage.models import Area, Category, Center, Item
from madoguchi.garbage.selectors import area_month
from madoguchi.garbage.services import (
    ImportReport,
    area_districts_set,
    area_rule_update,
    category_update,
    center_update,
    import_5374,
    item_save,
    sorting_import,
)
from madoguchi.residents.models import District

PAGE = 50


class ItemForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = ["name", "reading", "category", "notice", "is_active"]
        widgets = {"notice": forms.Textarea(attrs={"rows": 4})}

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        if name.startswith(("=", "+", "-", "@")):
            raise ValidationError(gettext_lazy("数式のような品目名は使えません。"))
        return name


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["description", "color", "sort_order", "holiday_policy"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class CenterForm(forms.ModelForm):
    class Meta:
        model = Center
        fields = ["closed_from", "closed_until", "closure_handling"]
        widgets = {
            "closed_from": forms.DateInput(attrs={"type": "date"}),
            "closed_until": forms.DateInput(attrs={"type": "date"}),
        }


@staff_view(Perm.GARBAGE_MANAGE)
def items(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    shown = Item.objects.select_related("category").order_by("reading", "name")
    category = request.GET.get("category", "")
    if category.isdigit():
        shown = shown.filter(category_id=int(category))
    if query:
        shown = shown.filter(
            Q(name__icontains=query) | Q(reading__icontains=query) | Q(notice__icontains=query)
        )
    page = Paginator(shown, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/garbage/items.html",
        {
            "page": page,
            "query": query,
            "categories": Category.objects.all(),
            "category": category,
            "credits": credits_in_use(),
        },
    )


@staff_view(Perm.GARBAGE_MANAGE)
def item_edit(request: HttpRequest, item_id: int | None = None) -> HttpResponse:
    item = get_object_or_404(Item, pk=item_id) if item_id is not None else None
    form = ItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            item_save(item=form.instance, actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("品目「%(name)s」を保存しました。") % {"name": form.instance.name})
            return redirect("console:garbage_items")
    return render(request, "console/garbage/item_edit.html", {"form": form, "item": item})


FILES_5374 = ("area_days.csv", "center.csv", "description.csv", "remarks.csv", "target.csv")


def _show_report(request: HttpRequest, report: ImportReport) -> None:
    messages.success(
        request,
        _(
            "取り込みました: 収集地区 %(areas)d、品目 新規 %(created)d 件、"
            "更新 %(updated)d 件、非公開 %(hidden)d 件。"
        )
        % {
            "areas": report.areas,
            "created": report.created,
            "updated": report.updated,
            "hidden": report.deactivated,
        },
    )
    for line in report.errors[:20]:
        messages.error(request, line)
    if len(report.errors) > 20:
        messages.error(
            request, _("ほか %(count)d 行を取り込みませんでした。") % {"count": len(report.errors) - 20}
        )


@require_POST
@staff_view(Perm.GARBAGE_MANAGE)
def import_sorting(request: HttpRequest) -> HttpResponse:
    """A city's sorting table (津市形式, 分別辞典 TSV or 5374's target.csv)."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("ファイルを選んでください。"))
        return redirect("console:garbage_items")
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        messages.error(
            request, _("ファイルが大きすぎます(上限 %(max)s バイト)。") % {"max": f"{MAX_FILE_BYTES:,}"}
        )
        return redirect("console:garbage_items")
    try:
        report = sorting_import(
            upload.read(),
            (upload.name or "")[:100],
            actor=request.user,
            replace=request.POST.get("replace") == "on",
        )
    except ImportRefused as error:
        messages.error(request, str(error))
    else:
        _show_report(request, report)
    return redirect("console:garbage_items")


@require_POST
@staff_view(Perm.GARBAGE_MANAGE)
def import_calendar(request: HttpRequest) -> HttpResponse:
    """A 5374.jp data folder's files, chosen together (area_days.csv required)."""
    files: dict[str, bytes] = {}
    for upload in request.FILES.getlist("files")[:10]:
        name = (upload.name or "").rsplit("/", 1)[-1]
        if name not in FILES_5374:
            messages.error(request, _("「%(name)s」は 5374 のファイルではありません。") % {"name": name[:60]})
            return redirect("console:garbage_areas")
        if upload.size is None or upload.size > MAX_FILE_BYTES:
            messages.error(
                request, _("ファイルが大きすぎます(上限 %(max)s バイト)。") % {"max": f"{MAX_FILE_BYTES:,}"}
            )
            return redirect("console:garbage_areas")
        files[name] = upload.read()
    try:
        report = import_5374(files, actor=request.user)
    except ImportRefused as error:
        messages.error(request, str(error))
    else:
        _show_report(request, report)
    return redirect("console:garbage_areas")


@staff_view(Perm.GARBAGE_MANAGE)
def categories(request: HttpRequest) -> HttpResponse:
    return render(request, "console/garbage/categories.html", {"categories": Category.objects.all()})


@staff_view(Perm.GARBAGE_MANAGE)
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=category_id)
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        category_update(category=category, actor=request.user, fields=form.cleaned_data)
        messages.success(request, _("「%(name)s」を保存しました。") % {"name": category.name})
        return redirect("console:garbage_categories")
    return render(request, "console/garbage/category_edit.html", {"form": form, "category": category})


@staff_view(Perm.GARBAGE_MANAGE)
def areas(request: HttpRequest) -> HttpResponse:
    shown = Area.objects.select_related("center").prefetch_related("districts__district")
    return render(request, "console/garbage/areas.html", {"areas": shown, "centers": Center.objects.all()})


@staff_view(Perm.GARBAGE_MANAGE)
def center_edit(request: HttpRequest, center_id: int) -> HttpResponse:
    center = get_object_or_404(Center, pk=center_id)
    form = CenterForm(request.POST or None, instance=center)
    if request.method == "POST" and form.is_valid():
        try:
            center_update(center=center, actor=request.user, fields=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("「%(name)s」を保存しました。") % {"name": center.name})
            return redirect("console:garbage_areas")
    return render(request, "console/garbage/center_edit.html", {"form": form, "center": center})


def _month(value: str) -> tuple[int, int]:
    today = timezone.localdate()
    try:
        year, month = (int(part) for part in value.split("-", 1))
        date(year, month, 1)
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        return today.year, today.month
    return year, month


@staff_view(Perm.GARBAGE_MANAGE)
def area(request: HttpRequest, area_id: int) -> HttpResponse:
    shown = get_object_or_404(Area.objects.select_related("center"), pk=area_id)
    errors: dict[int, str] = {}
    if request.method == "POST" and request.POST.get("action") == "districts":
        chosen = [v for v in request.POST.getlist("district")[:500] if v.isdigit() and len(v) < 12]
        area_districts_set(
            area=shown, districts=list(District.objects.filter(pk__in=chosen)), actor=request.user
        )
        messages.success(request, _("地区を保存しました。"))
        return redirect("console:garbage_area", area_id=shown.pk)
    if request.method == "POST":
        value = request.POST.get("category", "")
        category = (
            Category.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 12 else None
        )
        if category is None:
            messages.error(request, _("ごみの種類を選んでください。"))
            return redirect("console:garbage_area", area_id=shown.pk)
        try:
            area_rule_update(
                area=shown, category=category, rule=request.POST.get("rule", "")[:500], actor=request.user
            )
        except ValidationError as error:
            errors[category.pk] = "; ".join(error.messages)
        else:
            messages.success(
                request, _("「%(category)s」の収集日を保存しました。") % {"category": category.name}
            )
            return redirect("console:garbage_area", area_id=shown.pk)
    year, month = _month(request.GET.get("month", ""))
    rules = {rule.category_id: rule for rule in shown.rules.all()}
    rows = []
    # Every category collected somewhere (an area may lack one yet), and the one just refused.
    for category in Category.objects.filter(Q(rules__isnull=False) | Q(pk__in=errors)).distinct():
        rule = rules.get(category.pk)
        try:
            words = describe(parse_rule(rule.rule)) if rule else ""
        except ValueError:
            words = ""
        rows.append(
            {
                "category": category,
                "rule": rule.rule if rule else "",
                "words": words,
                "error": errors.get(category.pk),
            }
        )
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return render(
        request,
        "console/garbage/area.html",
        {
            "area": shown,
            "rows": rows,
            "weeks": area_month(shown, year, month),
            "year": year,
            "month": month,
            "previous": f"{previous:%Y-%m}",
            "following": f"{following:%Y-%m}",
            "districts": [
                {
                    "district": d,
                    "here": link.area_id == shown.pk if link else False,
                    "elsewhere": link.area if link and link.area_id != shown.pk else None,
                }
                for d in District.objects.select_related("garbage_area__area")
                for link in [getattr(d, "garbage_area", None)]
            ],
        },
        status=400 if errors else 200,
    )
