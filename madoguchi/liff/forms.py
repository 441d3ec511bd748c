"""The registration form: each choice one tap, each error a plain sentence beside its field."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.residents.models import District, Interest, Resident
from madoguchi.residents.services import CHILD_MAX_YEARS, MAX_CHILDREN

CHOOSE_AGAIN = _("選び直してください。")


class LocalizedChoiceField(forms.ModelChoiceField):
    def __init__(self, *args: Any, language: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.language = language

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name_in(self.language))


class LocalizedMultipleChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, *args: Any, language: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.language = language

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name_in(self.language))


class RegistrationForm(forms.Form):
    audience = forms.ChoiceField(
        label=_("あなたについて"),
        choices=[("", _("答えない")), *Resident.Audience.choices],
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": CHOOSE_AGAIN},
    )
    age_band = forms.ChoiceField(
        label=_("年代"),
        choices=[("", _("答えない")), *Resident.AgeBand.choices],
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": CHOOSE_AGAIN},
    )
    language = forms.ChoiceField(
        label=_("お知らせの言語"),
        choices=LANGUAGES,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": CHOOSE_AGAIN},
    )
    consent = forms.BooleanField(
        label=_("利用規約"),
        required=True,
        error_messages={"required": _("登録するには、利用規約への同意が必要です。")},
    )

    def __init__(self, *args: Any, language: str, children: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["district"] = LocalizedChoiceField(
            label=_("お住まいの地区"),
            queryset=District.objects.all(),
            required=False,
            widget=forms.RadioSelect,
            empty_label=_("答えない"),
            language=language,
            error_messages={"invalid_choice": CHOOSE_AGAIN},
        )
        self.fields["interests"] = LocalizedMultipleChoiceField(
            label=_("受け取りたいお知らせ"),
            queryset=Interest.objects.all(),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            language=language,
            error_messages={"invalid_choice": CHOOSE_AGAIN, "invalid_pk_value": CHOOSE_AGAIN},
        )
        self.order_fields(["audience", "district", "age_band", "interests", "language", "consent"])
        self.children_raw = children or []
        self.children_error = ""
        self.children: list[date] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("audience") not in ("", Resident.Audience.RESIDENT, None):
            cleaned["district"] = None  # a district is asked of those who live here
        self.children = self._clean_children()
        return cleaned

    def _clean_children(self) -> list[date]:
        raw = [value.strip() for value in self.children_raw if value.strip()]
        if len(self.children_raw) > MAX_CHILDREN * 3 or len(raw) > MAX_CHILDREN:
            return self._child_error(_("お子さまは %(count)s 人まで登録できます。") % {"count": MAX_CHILDREN})
        today = timezone.localdate()
        birthdates = []
        for value in raw:
            try:
                birthdate = date.fromisoformat(value) if len(value) == 10 else None
            except ValueError:
                birthdate = None
            if birthdate is None:
                return self._child_error(
                    _("お子さまの生年月日を、例のように入れてください (例: 2020-04-01)。")
                )
            if birthdate > today:
                return self._child_error(_("お子さまの生年月日に、これから先の日付は入れられません。"))
            if birthdate.year < today.year - CHILD_MAX_YEARS:
                return self._child_error(_("お子さまの生年月日を確かめてください。"))
            birthdates.append(birthdate)
        return sorted(set(birthdates))

    def _child_error(self, message: Any) -> list[date]:
        self.children_error = str(message)
        self.add_error(None, message)
        return []

    @staticmethod
    def child_bounds() -> tuple[str, str]:
        today = timezone.localdate()
        return date(today.year - CHILD_MAX_YEARS, 1, 1).isoformat(), today.isoformat()
