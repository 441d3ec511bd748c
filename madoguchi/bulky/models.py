"""粗大ごみ booking: the catalog of items and their fees, collection days with places per district,
bookings, and the address a resident chose to keep for next time.

One booking takes one place on its collection day, whatever it holds (up to
`BULKY_MAX_ITEMS` pieces): crews plan by stops, and a place per stop keeps capacity a plain count.
`CollectionDay.booked` is the count of confirmed (or collected / not put out) bookings on the day;
it is changed only by conditional UPDATEs in `services`, so the last place cannot be taken twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel
from madoguchi.residents.models import District, Resident


class Item(models.Model):
    """A kind of item the city collects, and its fee (the 処理券 to buy)."""

    name = models.CharField(_("品目"), max_length=60)
    reading = models.CharField(_("よみがな"), max_length=80, blank=True)
    names_by_language = models.JSONField(_("他の言語での名称"), default=dict, blank=True)
    fee = models.PositiveIntegerField(_("手数料 (円)"))
    size_note = models.CharField(_("大きさの目安"), max_length=120, blank=True)
    is_active = models.BooleanField(_("受付中"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["sort_order", "reading", "pk"]
        verbose_name = _("粗大ごみの品目")
        verbose_name_plural = _("粗大ごみの品目")
        constraints = [models.CheckConstraint(condition=Q(fee__lte=100_000), name="bulky_item_fee_range")]

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        return str(self.names_by_language.get(language) or self.name)


class CollectionDay(models.Model):
    """One district's collection on one date, with its places."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="bulky_days")
    date = models.DateField(_("収集日"))
    capacity = models.PositiveIntegerField(_("受付枠"))
    booked = models.PositiveIntegerField(_("予約済み"), default=0)
    is_open = models.BooleanField(_("受付中"), default=True)

    class Meta:
        ordering = ["date", "district__sort_order"]
        verbose_name = _("収集日")
        verbose_name_plural = _("収集日")
        constraints = [
            models.UniqueConstraint(fields=["district", "date"], name="bulky_day_unique"),
            # The database itself refuses more bookings than places.
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="bulky_day_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.district}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("予約済み")
        CANCELLED = "cancelled", _("取り消し")
        COLLECTED = "collected", _("収集済み")
        NOT_PUT_OUT = "not_put_out", _("出されていない")

    class Via(models.TextChoices):
        LINE = "line", _("LINE")
        PHONE = "phone", _("電話")

    # Statuses that hold a place on the day.
    HOLDING = (Status.CONFIRMED, Status.COLLECTED, Status.NOT_PUT_OUT)

    number = models.CharField(_("受付番号"), max_length=20, unique=True, null=True, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True)
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="bulky_bookings"
    )
    via = models.CharField(_("受付経路"), max_length=10, choices=Via.choices, default=Via.LINE)
    day = models.ForeignKey(CollectionDay, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    name = models.CharField(_("お名前"), max_length=50)
    address = models.CharField(_("収集場所の住所"), max_length=200)
    phone = models.CharField(_("電話番号"), max_length=20)
    fee_total = models.PositiveIntegerField(_("手数料の合計 (円)"))
    note = models.CharField(_("職員メモ"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    reminded_at = models.DateTimeField(_("前日のお知らせ"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("粗大ごみの予約")
        verbose_name_plural = _("粗大ごみの予約")
        constraints = [
            # One booking per resident and collection day (more items go in the same booking).
            models.UniqueConstraint(
                fields=["resident", "day"],
                condition=Q(resident__isnull=False, status="confirmed"),
                name="bulky_booking_one_per_resident_day",
            )
        ]
        indexes = [models.Index(fields=["day", "status"])]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class BookingLine(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT)
    quantity = models.PositiveSmallIntegerField(_("数量"))
    fee = models.PositiveIntegerField(_("1 点の手数料 (円)"))  # the fee when booked

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.item_id} ×{self.quantity}"

    @property
    def subtotal(self) -> int:
        return self.fee * self.quantity


class SavedAddress(models.Model):
    """The address and phone a resident asked us to keep for the next booking (次回も使う)."""

    resident = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="bulky_address")
    name = models.CharField(_("お名前"), max_length=50)
    address = models.CharField(_("住所"), max_length=200)
    phone = models.CharField(_("電話番号"), max_length=20)
    consented_at = models.DateTimeField(_("同意日時"))

    class Meta:
        verbose_name = _("保存された住所")
        verbose_name_plural = _("保存された住所")

    def __str__(self) -> str:
        return f"SavedAddress({self.resident_id})"  # never the address itself (logs, admin)
