"""What the bot tells a resident about their booking: confirmation, change, cancellation, and the
reminder the day before. Written in Japanese, translated into the resident's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.bulky import calendar
from madoguchi.bulky.models import Booking
from madoguchi.channels.base import OutboundMessage, Text, UriAction, transport_for
from madoguchi.residents.models import Resident

KINDS = ("created", "changed", "cancelled", "reminder")


def items_line(booking: Booking, language: str = "ja") -> str:
    return _("、").join(
        _("%(item)s ×%(quantity)s") % {"item": line.item.name_in(language), "quantity": line.quantity}
        for line in booking.lines.select_related("item")
    )


def booking_text(booking: Booking, kind: str, language: str = "ja") -> str:
    """The message for `kind` (one of KINDS), in the active language."""
    opening = {
        "created": _("粗大ごみの収集を受け付けました。"),
        "changed": _("粗大ごみの収集日を変更しました。"),
        "cancelled": _("粗大ごみの予約を取り消しました。"),
        "reminder": _("明日は粗大ごみの収集日です。"),
    }[kind]
    details = [
        _("受付番号: %(number)s") % {"number": booking.number},
        _("収集日: %(day)s") % {"day": calendar.day_label(booking.day.date)},
        _("品目: %(items)s") % {"items": items_line(booking, language)},
        _("手数料: %(fee)s") % {"fee": calendar.yen(booking.fee_total)},
    ]
    if kind == "cancelled":
        return "\n".join([opening, *details])
    closing = [_("処理券を購入し、収集日の朝8時までに出してください。")]
    if kind != "reminder":
        closing.append(
            _("変更・取り消しは %(cutoff)s までできます。")
            % {"cutoff": calendar.day_label(calendar.cutoff(booking.day.date))}
        )
    return "\n".join([opening, *details, *closing])


def booking_messages(booking: Booking, kind: str, language: str) -> list[OutboundMessage]:
    text = booking_text(booking, kind, language)
    link = booking.channel.liff_url("bulky/mine/") if booking.channel else None
    if link and kind != "cancelled":
        return [Text(text[:5000], quick_replies=(UriAction(label=_("予約の確認・変更"), uri=link),))]
    return [Text(text[:5000])]


def booking_message_push(booking_id: int, kind: str, key: str) -> None:
    """Worker: push `kind` about a booking to its resident. `key` names this event, so a retried
    task sends nothing twice; a reminder for a booking cancelled since is not sent."""
    booking = Booking.objects.select_related("day", "channel", "resident").filter(pk=booking_id).first()
    if booking is None or booking.resident is None or booking.channel is None or kind not in KINDS:
        return
    if kind == "reminder" and booking.status != Booking.Status.CONFIRMED:
        return
    resident = booking.resident
    if resident.status != Resident.Status.ACTIVE or resident.anonymised_at is not None:
        return  # not a friend (now): LINE would not deliver it
    with translation.override(resident.reply_language):
        messages = booking_messages(booking, kind, resident.reply_language)
    transport_for(booking.channel).push(
        booking.channel,
        user_id=resident.line_user_id,
        messages=messages,
        dedupe_key=f"bulky:{booking.pk}:{kind}:{key}",
    )
