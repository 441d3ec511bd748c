"""The residents' 粗大ごみ pages (LIFF): book (form → review → booked, confirmed in LINE), and
"my bookings" with a change of day or a cancellation until the cut-off.

Who books is the LIFF session's resident (LINE's ID token, `liff.session`); a booking number in
a URL opens only the resident's own booking.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.bulky import calendar
from madoguchi.bulky.messages import items_line
from madoguchi.bulky.models import Booking
from madoguchi.bulky.selectors import booking_of_resident, bookings_of_resident, days_open, saved_address
from madoguchi.bulky.services import BookingError, booking_cancel, booking_change_day, booking_create
from madoguchi.core.remote import client_ip
from madoguchi.liff.bulky_forms import BookingForm
from madoguchi.liff.pages import page_language, render_page
from madoguchi.liff.session import LiffVisitor, session_visitor
from madoguchi.liff.views import _expired, _signin


def _visitor(request: HttpRequest) -> LiffVisitor | HttpResponse:
    visitor = session_visitor(request)
    if visitor is None:
        return _expired(request) if request.method == "POST" else _signin(request)
    if visitor.channel.is_confidential:  # a counseling line books nothing
        return render_page(
            request, "liff/unavailable.html", {}, language="ja", channel=visitor.channel, status=404
        )
    return visitor


def _initial(visitor: LiffVisitor) -> dict[str, Any]:
    saved = saved_address(visitor.resident)
    initial: dict[str, Any] = {"district": visitor.resident.district_id}
    if saved is not None:
        initial.update(name=saved.name, address=saved.address, phone=saved.phone, keep_address=True)
    return initial


def _page(
    request: HttpRequest, visitor: LiffVisitor, template: str, context: dict[str, Any], **kw: Any
) -> HttpResponse:
    language = page_language(request, visitor.resident)
    with translation.override(language):
        return render_page(request, template, context, language=language, channel=visitor.channel, **kw)


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponseBase:
    visitor = _visitor(request)
    if isinstance(visitor, HttpResponse):
        return visitor
    language = page_language(request, visitor.resident)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    if request.method == "GET" or step in ("district", "edit"):
        form = BookingForm(request.POST or None, initial=_initial(visitor), language=language)
        return _page(request, visitor, "liff/bulky_form.html", {"form": form, "shown_errors": False})
    form = BookingForm(request.POST, language=language)
    with translation.override(language):
        valid = form.is_valid()
    if not valid:
        return _page(
            request, visitor, "liff/bulky_form.html", {"form": form, "shown_errors": True}, status=400
        )
    day = form.chosen_day
    assert day is not None
    if step != "book":
        return _page(
            request,
            visitor,
            "liff/bulky_review.html",
            {
                "form": form,
                "day": day,
                "day_label": _label(day.date, language),
                "cutoff_label": _label(calendar.cutoff(day.date), language),
                "lines": [
                    (item.name_in(language), quantity, _yen(item.fee * quantity, language))
                    for item, quantity in form.lines
                ],
                "fee_total": _yen(form.fee_total, language),
                "hidden": [
                    (key, value[:200])
                    for key, value in request.POST.items()
                    if key not in ("step", "csrfmiddlewaretoken")
                ],
            },
        )
    data = form.cleaned_data
    try:
        with translation.override(language):
            booking = booking_create(
                day_id=day.pk,
                items={item.pk: quantity for item, quantity in form.lines},
                name=data["name"],
                address=data["address"],
                phone=data["phone"],
                resident=visitor.resident,
                keep_address=data["keep_address"],
                ip_address=client_ip(request),
            )
    except BookingError as error:
        with translation.override(language):
            form.add_error(None, str(error.message))
        return _page(
            request, visitor, "liff/bulky_form.html", {"form": form, "shown_errors": True}, status=409
        )
    query = urlencode({"lang": language, "done": "1"})
    return redirect(f"{reverse('liff:bulky_booking', kwargs={'number': booking.number})}?{query}")


def _yen(amount: int, language: str) -> str:
    with translation.override(language):
        return calendar.yen(amount)


def _label(day: Any, language: str) -> str:
    with translation.override(language):
        return calendar.day_label(day)


def _described(booking: Booking, language: str) -> dict[str, Any]:
    with translation.override(language):
        return {
            "booking": booking,
            "day_label": calendar.day_label(booking.day.date),
            "cutoff_label": calendar.day_label(calendar.cutoff(booking.day.date)),
            "items": items_line(booking, language),
            "fee": calendar.yen(booking.fee_total),
            "changeable": booking.status == Booking.Status.CONFIRMED
            and calendar.is_changeable(booking.day.date),
        }


@require_GET
def mine(request: HttpRequest) -> HttpResponseBase:
    visitor = _visitor(request)
    if isinstance(visitor, HttpResponse):
        return visitor
    language = page_language(request, visitor.resident)
    bookings = [_described(b, language) for b in bookings_of_resident(visitor.resident)[:30]]
    return _page(request, visitor, "liff/bulky_mine.html", {"bookings": bookings})


def _own(visitor: LiffVisitor, number: str) -> Booking:
    booking = booking_of_resident(visitor.resident, number)
    if booking is None:
        raise Http404
    return booking


@require_GET
def booking_detail(request: HttpRequest, number: str) -> HttpResponseBase:
    visitor = _visitor(request)
    if isinstance(visitor, HttpResponse):
        return visitor
    language = page_language(request, visitor.resident)
    booking = _own(visitor, number)
    described = _described(booking, language)
    days = []
    if described["changeable"]:
        days = [
            {"day": day, "label": _label(day.date, language)}
            for day in days_open().filter(district_id=booking.day.district_id).exclude(pk=booking.day_id)[:20]
        ]
    return _page(
        request,
        visitor,
        "liff/bulky_booking.html",
        {**described, "done": request.GET.get("done") == "1", "days": days, "error": ""},
    )


@require_POST
def booking_action(request: HttpRequest, number: str, action: str) -> HttpResponseBase:
    visitor = _visitor(request)
    if isinstance(visitor, HttpResponse):
        return visitor
    language = page_language(request, visitor.resident)
    booking = _own(visitor, number)
    try:
        with translation.override(language):
            if action == "cancel":
                booking_cancel(booking, ip_address=client_ip(request))
            else:
                raw = request.POST.get("day", "")
                day_id = int(raw) if raw.isdigit() and len(raw) < 12 else 0
                if not days_open().filter(pk=day_id, district_id=booking.day.district_id).exists():
                    raise BookingError(_("収集日を選んでください。"))
                booking_change_day(booking, day_id=day_id, ip_address=client_ip(request))
    except BookingError as error:
        booking.refresh_from_db()
        with translation.override(language):
            message = str(error.message)
        return _page(
            request,
            visitor,
            "liff/bulky_booking.html",
            {**_described(booking, language), "done": False, "days": [], "error": message},
            status=409,
        )
    query = urlencode({"lang": language})
    return redirect(f"{reverse('liff:bulky_booking', kwargs={'number': booking.number})}?{query}")
