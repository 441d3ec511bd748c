"""粗大ごみ for the garbage department: one day's bookings (filters, route export as CSV or Excel,
collected / not put out), places per district and day, the catalog, and bookings taken by phone.

Every screen needs `Perm.BULKY_MANAGE` and, when `MADOGUCHI_BULKY_DEPARTMENT` names one, that
department (administrators and auditors excepted). Names, addresses and phones are personal
data: each list and each export is logged by the selectors."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from madoguchi.accounts.access import staff_profile
from madoguchi.accounts.roles import ALL_DEPARTMENTS, Perm
from madoguchi.bulky import calendar
from madoguchi.bulky.models import Booking, CollectionDay, Item
from madoguchi.bulky.selectors import bookings_for_day, days_open, items_active
from madoguchi.bulky.services import (
    BookingError,
    booking_cancel,
    booking_change_day,
    booking_create,
    booking_mark,
    day_update,
    days_create,
    item_save,
)
from madoguchi.console.access import View, client_ip, staff_view
from madoguchi.core.audit import audit_record
from madoguchi.garbage.selectors import district_closures
from madoguchi.residents.models import District


def _in_department(request: HttpRequest) -> bool:
    code = settings.BULKY_DEPARTMENT
    profile = staff_profile(request.user)
    if not code or profile is None or profile.role in ALL_DEPARTMENTS:
        return profile is not None
    return profile.department is not None and profile.department.code == code


def bulky_view(view: View) -> View:
    """`staff_view(Perm.BULKY_MANAGE)`, and the garbage department's staff only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _in_department(request):
            audit_record(
                action="console.access.denied",
                actor=request.user,
                ip_address=client_ip(request),
                data={"path": request.path[:200], "permission": Perm.BULKY_MANAGE, "department": True},
            )
            return render(request, "console/denied.html", status=403)
        return view(request, *args, **kwargs)

    return staff_view(Perm.BULKY_MANAGE)(wrapper)


def _date(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else default
    except ValueError:
        return default


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _day_filters(request: HttpRequest) -> tuple[date, int | None, str]:
    day = _date(request.GET.get("date"), calendar.today())
    status = request.GET.get("status", "")
    return day, _int(request.GET.get("district")), status if status in Booking.Status.values else ""


# One day's bookings


@bulky_view
def bulky(request: HttpRequest) -> HttpResponse:
    day, district, status = _day_filters(request)
    bookings = bookings_for_day(
        request.user, day, district_id=district, status=status, ip_address=client_ip(request)
    )
    # Days a confirmed booking may move to (a caller asking for another day): the same district's.
    moves: dict[int, list[CollectionDay]] = {}
    for open_day in days_open(staff=True).filter(district_id__in={b.day.district_id for b in bookings})[:300]:
        moves.setdefault(open_day.district_id, []).append(open_day)
    for booking in bookings:
        booking.move_days = [d for d in moves.get(booking.day.district_id, []) if d.pk != booking.day_id]  # type: ignore[attr-defined]
    query = urlencode({"date": day.isoformat(), **({"district": str(district)} if district else {})})
    return render(
        request,
        "console/bulky.html",
        {
            "day": day,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "district": district,
            "status": status,
            "districts": District.objects.all(),
            "statuses": Booking.Status.choices,
            "bookings": bookings,
            "query": query,
            "can_mark": day <= calendar.today(),
        },
    )


EXPORT_COLUMNS: list[tuple[Any, Callable[[Booking], Any]]] = [
    (gettext_lazy("順"), lambda b: ""),
    (gettext_lazy("地区"), lambda b: b.day.district.name),
    (gettext_lazy("住所"), lambda b: b.address),
    (gettext_lazy("お名前"), lambda b: b.name),
    (gettext_lazy("電話番号"), lambda b: b.phone),
    (gettext_lazy("受付番号"), lambda b: b.number),
    (
        gettext_lazy("品目"),
        lambda b: "、".join(f"{line.item.name}×{line.quantity}" for line in b.lines.all()),
    ),
    (gettext_lazy("点数"), lambda b: sum(line.quantity for line in b.lines.all())),
    (gettext_lazy("手数料"), lambda b: b.fee_total),
    (gettext_lazy("状態"), lambda b: b.get_status_display()),
    (gettext_lazy("受付経路"), lambda b: b.get_via_display()),
]


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is written as text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r", "|", "%"):
        return "'" + value
    return value


@bulky_view
def bulky_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The day's route: confirmed (and already marked) bookings by district and address."""
    day, district, _status = _day_filters(request)
    bookings = [
        booking
        for booking in bookings_for_day(
            request.user, day, district_id=district, ip_address=client_ip(request), export=fmt
        )
        if booking.status != Booking.Status.CANCELLED
    ]
    header = [str(name) for name, _value in EXPORT_COLUMNS]
    rows = []
    for order, booking in enumerate(bookings, start=1):
        row = [_cell(value(booking)) for _name, value in EXPORT_COLUMNS]
        row[0] = order
        rows.append(row)
    filename = f"bulky-{day.isoformat()}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = day.isoformat()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    response = HttpResponse(
        out_bytes.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


@bulky_view
@require_POST
def bulky_booking_action(request: HttpRequest, booking_id: int, action: str) -> HttpResponse:
    booking = get_object_or_404(Booking.objects.select_related("day"), pk=booking_id)
    try:
        if action == "cancel":
            booking_cancel(booking, actor=request.user, ip_address=client_ip(request))
            messages.success(request, _("%(number)s を取り消しました。") % {"number": booking.number})
        elif action == "move":
            day_id = _int(request.POST.get("day"))
            if day_id is None:
                raise BookingError(_("収集日を選んでください。"))
            booking_change_day(booking, day_id=day_id, actor=request.user, ip_address=client_ip(request))
            messages.success(request, _("%(number)s の収集日を変更しました。") % {"number": booking.number})
        else:
            booking_mark(booking, status=action, actor=request.user, ip_address=client_ip(request))
            messages.success(request, _("%(number)s を記録しました。") % {"number": booking.number})
    except BookingError as error:
        messages.error(request, str(error.message))
    query = urlencode({"date": booking.day.date.isoformat()})
    return redirect(f"{reverse('console:bulky')}?{query}")


# Places per district and day


class DaysForm(forms.Form):
    districts = forms.ModelMultipleChoiceField(
        District.objects.all(), label=gettext_lazy("地区"), widget=forms.CheckboxSelectMultiple
    )
    start = forms.DateField(label=gettext_lazy("開始日"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("終了日"), widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("曜日"),
        coerce=int,
        choices=[(i, w) for i, w in enumerate(calendar.WEEKDAYS_JA)],
        widget=forms.CheckboxSelectMultiple,
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("1 日の受付枠"), min_value=1, max_value=10_000, initial=20
    )


def _days_listed(days: Iterable[date]) -> str:
    return _("、").join(calendar.day_label(day) for day in days)


@bulky_view
def bulky_days(request: HttpRequest) -> HttpResponse:
    form = DaysForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = days_create(
                districts=data["districts"],
                start=data["start"],
                end=data["end"],
                weekdays=data["weekdays"],
                capacity=data["capacity"],
                actor=request.user,
                ip_address=client_ip(request),
                # The garbage centre's 年末年始 closure, for the districts whose area has one.
                closures=district_closures(d.pk for d in data["districts"]),
            )
            messages.success(request, _("収集日を %(count)s 件作りました。") % {"count": made.created})
            if made.holidays:
                messages.info(
                    request,
                    _("祝日のため作らなかった日: %(days)s") % {"days": _days_listed(made.holidays)},
                )
            if made.closed:
                messages.info(
                    request,
                    _("清掃センターの休止期間 (年末年始) のため作らなかった日: %(days)s")
                    % {"days": _days_listed(made.closed)},
                )
            return redirect("console:bulky_days")
        except BookingError as error:
            form.add_error(None, str(error.message))
    start = _date(request.GET.get("from"), calendar.today())
    days = (
        CollectionDay.objects.select_related("district")
        .filter(date__gte=start, date__lte=start + timedelta(days=62))
        .order_by("date", "district__sort_order")
    )
    return render(
        request,
        "console/bulky_days.html",
        {"form": form, "days": days, "cutoff_days": settings.BULKY_CUTOFF_DAYS},
        status=400 if form.is_bound else 200,
    )


@bulky_view
@require_POST
def bulky_day_update(request: HttpRequest, day_id: int) -> HttpResponse:
    day = get_object_or_404(CollectionDay, pk=day_id)
    capacity = _int(request.POST.get("capacity"))
    try:
        if capacity is None:
            raise BookingError(_("受付枠は 0〜10000 で指定してください。"))
        day_update(
            day,
            capacity=capacity,
            is_open=request.POST.get("is_open") == "on",
            actor=request.user,
            ip_address=client_ip(request),
        )
        messages.success(request, _("受付枠を変更しました。"))
    except BookingError as error:
        messages.error(request, str(error.message))
    return redirect("console:bulky_days")


# The catalog


class ItemForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = ["name", "reading", "fee", "size_note", "sort_order", "is_active"]
        widgets = {"fee": forms.NumberInput(attrs={"min": 0, "max": 100000})}

    def clean_fee(self) -> int:
        fee = int(self.cleaned_data["fee"])
        if fee > 100_000:
            raise forms.ValidationError(_("手数料は 0〜100000 円で指定してください。"))
        return fee


@bulky_view
def bulky_items(request: HttpRequest, item_id: int | None = None) -> HttpResponse:
    item = get_object_or_404(Item, pk=item_id) if item_id else None
    form = ItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ItemForm.Meta.fields}
        item_save(item, actor=request.user, ip_address=client_ip(request), **fields)
        messages.success(request, _("品目を保存しました。"))
        return redirect("console:bulky_items")
    return render(
        request,
        "console/bulky_items.html",
        {"form": form, "item": item, "items": Item.objects.all()},
        status=400 if form.is_bound else 200,
    )


# Bookings taken by phone


class PhoneBookingForm(forms.Form):
    day = forms.ModelChoiceField(CollectionDay.objects.none(), label=gettext_lazy("収集日"))
    name = forms.CharField(label=gettext_lazy("お名前"), max_length=50)
    address = forms.CharField(label=gettext_lazy("収集場所の住所"), max_length=200)
    phone = forms.CharField(label=gettext_lazy("電話番号"), max_length=20)
    note = forms.CharField(label=gettext_lazy("職員メモ"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        day_field = self.fields["day"]
        assert isinstance(day_field, forms.ModelChoiceField)
        day_field.queryset = days_open(staff=True)
        day_field.label_from_instance = lambda d: (  # type: ignore[method-assign,assignment]
            f"{d.date:%Y-%m-%d} {calendar.day_label(d.date)} {d.district.name} ({d.booked}/{d.capacity})"
        )
        self.items = list(items_active())
        for item in self.items:
            self.fields[f"qty-{item.pk}"] = forms.IntegerField(
                label=f"{item.name} ({item.fee}円)",
                min_value=0,
                max_value=settings.BULKY_MAX_ITEMS,
                initial=0,
                required=False,
            )

    def quantities(self) -> dict[int, int]:
        return {item.pk: self.cleaned_data.get(f"qty-{item.pk}") or 0 for item in self.items}


@bulky_view
def bulky_phone(request: HttpRequest) -> HttpResponse:
    form = PhoneBookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking = booking_create(
                day_id=data["day"].pk,
                items=form.quantities(),
                name=data["name"],
                address=data["address"],
                phone=data["phone"],
                note=data["note"],
                actor=request.user,
                ip_address=client_ip(request),
            )
        except BookingError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request,
                _("%(number)s で受け付けました。手数料は %(fee)s です。")
                % {"number": booking.number, "fee": calendar.yen(booking.fee_total)},
            )
            query = urlencode({"date": booking.day.date.isoformat()})
            return redirect(f"{reverse('console:bulky')}?{query}")
    return render(request, "console/bulky_phone.html", {"form": form}, status=400 if form.is_bound else 200)
