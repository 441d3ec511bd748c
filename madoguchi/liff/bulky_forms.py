"""The 粗大ごみ booking form: items and quantities, district and day, where to collect, consent
to keep the address. Quantities arrive as `qty-<item id>` fields; anything else is ignored."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from madoguchi.bulky.models import CollectionDay, Item
from madoguchi.bulky.selectors import days_open, items_active
from madoguchi.bulky.services import BookingError, clean_phone, fee_total, lines_for
from madoguchi.liff.forms import CHOOSE_AGAIN, LocalizedChoiceField
from madoguchi.residents.models import District

TOO_LONG = _("%(limit_value)s 文字以内で入れてください。")


class BookingForm(forms.Form):
    name = forms.CharField(
        label=_("お名前"),
        max_length=50,
        error_messages={"required": _("お名前を入れてください。"), "max_length": TOO_LONG},
    )
    address = forms.CharField(
        label=_("収集にうかがう住所"),
        max_length=200,
        error_messages={"required": _("住所を入れてください。"), "max_length": TOO_LONG},
    )
    phone = forms.CharField(
        label=_("電話番号"),
        max_length=20,
        error_messages={"required": _("電話番号を入れてください。"), "max_length": TOO_LONG},
    )
    keep_address = forms.BooleanField(label=_("次回も使う"), required=False)
    day = forms.IntegerField(
        label=_("収集日"),
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": CHOOSE_AGAIN, "min_value": CHOOSE_AGAIN, "max_value": CHOOSE_AGAIN},
    )

    def __init__(self, *args: Any, language: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["district"] = LocalizedChoiceField(
            label=_("地区"),
            queryset=District.objects.all(),
            widget=forms.RadioSelect,
            empty_label=None,
            language=language,
            error_messages={"invalid_choice": CHOOSE_AGAIN, "required": _("地区を選んでください。")},
        )
        self.order_fields(["district", "day", "name", "address", "phone", "keep_address"])
        self.language = language
        self.items = list(items_active())
        data = self.data if isinstance(self.data, QueryDict) else QueryDict()
        self.quantities: dict[int, str] = {
            item.pk: str(data.get(f"qty-{item.pk}", "0"))[:3] for item in self.items
        }
        self.lines: list[tuple[Item, int]] = []
        self.chosen_day: CollectionDay | None = None

    def district_id(self) -> int | None:
        """The district whose days are offered: the one chosen, else the initial one."""
        raw = str((self.data.get("district") if self.is_bound else self.initial.get("district")) or "")
        try:
            return int(raw) if raw and len(raw) < 12 else None
        except (TypeError, ValueError):
            return None

    def days(self) -> list[CollectionDay]:
        district = self.district_id()
        return list(days_open().filter(district_id=district)[:40]) if district else []

    def item_rows(self) -> list[dict[str, Any]]:
        top = settings.BULKY_MAX_ITEMS
        return [
            {
                "item": item,
                "name": item.name_in(self.language),
                "field": f"qty-{item.pk}",
                "quantity": self.quantities.get(item.pk, "0"),
                "choices": [str(n) for n in range(top + 1)],
            }
            for item in self.items
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            quantities = {pk: int(value) for pk, value in self.quantities.items()}
            if any(not 0 <= q <= settings.BULKY_MAX_ITEMS for q in quantities.values()):
                raise ValueError
        except ValueError:
            self.add_error(None, _("数量を確かめてください。"))
            quantities = {}
        if quantities:
            try:
                self.lines = lines_for(quantities)
            except BookingError as error:
                self.add_error(None, error.message)
        if cleaned.get("phone"):
            try:
                cleaned["phone"] = clean_phone(cleaned["phone"])
            except BookingError as error:
                self.add_error("phone", error.message)
        district = cleaned.get("district")
        day_id = cleaned.get("day")
        if district is not None:
            day = days_open().filter(pk=day_id, district=district).first() if day_id else None
            if day is None:
                self.add_error("day", _("収集日を選んでください。"))
            self.chosen_day = day
        return cleaned

    @property
    def fee_total(self) -> int:
        return fee_total(self.lines)
