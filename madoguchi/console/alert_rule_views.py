"""Alert rules (警報の規則) in the console: which alerts (area codes, kind, minimum severity) make
which delivery (a template, districts or every friend), and how: a draft, an emergency waiting
for a second person, or an emergency sent at once — which is labelled as such and needs a tick
box each time it is saved or enabled."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import Perm
from madoguchi.console.access import staff_view
from madoguchi.core.models import Channel
from madoguchi.core.remote import client_ip
from madoguchi.disaster.alerts import JMA_KINDS
from madoguchi.disaster.intake import alert_rule_save, alert_rule_set_active, rule_segment_districts
from madoguchi.disaster.models import Alert, AlertRule
from madoguchi.residents.models import District

MAX_CODES = 100
CODE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
# CAP 1.2 <category> values, with the words staff know them by.
CAP_CATEGORIES = [
    ("Geo", gettext_lazy("CAP: 地象(地震・津波・火山など)")),
    ("Met", gettext_lazy("CAP: 気象(大雨・洪水・暴風など)")),
    ("Safety", gettext_lazy("CAP: 安全")),
    ("Security", gettext_lazy("CAP: 治安・国民保護")),
    ("Rescue", gettext_lazy("CAP: 救助")),
    ("Fire", gettext_lazy("CAP: 火災")),
    ("Health", gettext_lazy("CAP: 保健・医療")),
    ("Env", gettext_lazy("CAP: 環境")),
    ("Transport", gettext_lazy("CAP: 交通")),
    ("Infra", gettext_lazy("CAP: ライフライン")),
    ("CBRNE", gettext_lazy("CAP: 化学・生物・放射性物質・爆発物")),
    ("Other", gettext_lazy("CAP: その他")),
]
STRONG = (Alert.Severity.SEVERE, Alert.Severity.EXTREME)


def kind_choices(current: str = "") -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [("", gettext_lazy("すべての種類"))]
    choices += [
        (code, gettext_lazy("気象庁: %(label)s") % {"label": label}) for code, label in JMA_KINDS.items()
    ]
    choices += CAP_CATEGORIES
    if current and current not in {code for code, _label in choices}:
        choices.append((current, current))  # set in the admin site: kept as it is
    return choices


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名前"), max_length=100)
    area_codes = forms.CharField(
        label=gettext_lazy("地域コード"),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "気象庁の地域コード(市町村 7 桁など)や CAP の geocode を、カンマか空白で区切って。空なら全地域"
        ),
    )
    kind = forms.ChoiceField(label=gettext_lazy("種類"), required=False)
    min_severity = forms.ChoiceField(
        label=gettext_lazy("深刻度(この程度以上)"), choices=Alert.Severity.choices
    )
    template = forms.ChoiceField(label=gettext_lazy("文面"), choices=AlertRule.Template.choices)
    districts = forms.MultipleChoiceField(
        label=gettext_lazy("配信先の地区"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("選ばなければ友だち全員"),
    )
    keep_segment = forms.BooleanField(
        label=gettext_lazy("管理サイトで設定した配信先(セグメント)をそのまま使う"), required=False
    )
    action = forms.ChoiceField(
        label=gettext_lazy("動作"), choices=AlertRule.Action.choices, widget=forms.RadioSelect
    )
    confirm_immediate = forms.BooleanField(
        label=gettext_lazy(
            "この規則に合う警報が届くと、職員の承認なしに、ただちに緊急配信されることを確認しました"
        ),
        required=False,
    )
    is_active = forms.BooleanField(label=gettext_lazy("有効"), required=False, initial=True)

    def __init__(self, *args: Any, rule: AlertRule | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        kind = self.fields["kind"]
        districts = self.fields["districts"]
        assert isinstance(kind, forms.ChoiceField) and isinstance(districts, forms.ChoiceField)
        kind.choices = kind_choices(rule.kind if rule else "")
        districts.choices = [(d.code, d.name) for d in District.objects.order_by("sort_order", "code")]
        self.custom_segment = rule is not None and rule_segment_districts(rule) is None
        if not self.custom_segment:
            del self.fields["keep_segment"]
        for field in self.fields.values():
            field.error_messages["required"] = _("入力してください。")
            field.error_messages["invalid_choice"] = _("選択肢から選んでください。")
            field.error_messages["max_length"] = _("%(limit_value)d 文字以内で入れてください。")

    def clean_area_codes(self) -> str:
        text = unicodedata.normalize("NFKC", self.cleaned_data.get("area_codes", ""))
        codes = [code for code in re.split(r"[\s,、]+", text) if code]
        for code in codes:
            if not CODE.match(code):
                raise forms.ValidationError(
                    _("地域コードは半角英数字で、カンマで区切って入れてください(「%(code)s」が読めません)。")
                    % {"code": code[:20]}
                )
        if len(codes) > MAX_CODES:
            raise forms.ValidationError(_("地域コードは %(max)d 個までです。") % {"max": MAX_CODES})
        return ", ".join(dict.fromkeys(codes))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == AlertRule.Action.IMMEDIATE:
            if not cleaned.get("confirm_immediate"):
                self.add_error(
                    "confirm_immediate", _("ただちに送る規則は、確認のチェックを入れてから保存してください。")
                )
            if not cleaned.get("area_codes"):
                self.add_error("area_codes", _("ただちに送る規則には地域コードを入れてください。"))
            if cleaned.get("min_severity") and cleaned["min_severity"] not in STRONG:
                self.add_error("min_severity", _("ただちに送る規則の深刻度は「重大」以上にしてください。"))
        return cleaned


def _main_channel() -> Channel | None:
    return Channel.objects.filter(is_active=True, is_confidential=False).order_by("pk").first()


@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_rules(request: HttpRequest) -> HttpResponse:
    rules = list(AlertRule.objects.select_related("segment", "owner").order_by("-is_active", "name", "pk"))
    names = dict(District.objects.values_list("code", "name"))
    kinds = dict(kind_choices())
    rows = []
    for rule in rules:
        codes = rule_segment_districts(rule)
        rows.append(
            {
                "rule": rule,
                "kind": kinds.get(rule.kind, rule.kind) if rule.kind else _("すべての種類"),
                "target": _("友だち全員")
                if codes == []
                else ("、".join(names.get(c, c) for c in codes) if codes else rule.segment.name),  # type: ignore[union-attr]
                "immediate": rule.action == AlertRule.Action.IMMEDIATE,
            }
        )
    return render(request, "console/disaster/alert_rules.html", {"rows": rows})


@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id) if rule_id is not None else None
    initial: dict[str, Any] = {"min_severity": Alert.Severity.SEVERE, "action": AlertRule.Action.DRAFT}
    if rule is not None:
        initial = {
            "name": rule.name,
            "area_codes": rule.area_codes,
            "kind": rule.kind,
            "min_severity": rule.min_severity,
            "template": rule.template,
            "districts": rule_segment_districts(rule) or [],
            "keep_segment": True,
            "action": rule.action,
            "is_active": rule.is_active,
        }
    form = AlertRuleForm(request.POST or None, initial=initial, rule=rule)
    channel = rule.channel if rule is not None else _main_channel()
    if request.method == "POST" and form.is_valid():
        if channel is None:
            messages.error(request, _("LINE アカウントが設定されていません。"))
        else:
            data = form.cleaned_data
            keep = form.custom_segment and data.get("keep_segment")
            saved = alert_rule_save(
                actor=request.user,
                rule=rule,
                channel=channel,
                values={
                    "name": data["name"].strip(),
                    "area_codes": data["area_codes"],
                    "kind": data["kind"],
                    "min_severity": data["min_severity"],
                    "template": data["template"],
                    "action": data["action"],
                    "is_active": data["is_active"],
                },
                district_codes=None if keep else list(data["districts"]),
                ip_address=client_ip(request),
            )
            messages.success(request, _("警報の規則「%(name)s」を保存しました。") % {"name": saved.name})
            return redirect("console:alert_rules")
    return render(
        request,
        "console/disaster/alert_rule_edit.html",
        {"form": form, "rule": rule, "immediate": AlertRule.Action.IMMEDIATE},
    )


@require_POST
@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_rule_active(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id)
    active = request.POST.get("active") == "1"
    if active and rule.action == AlertRule.Action.IMMEDIATE and request.POST.get("confirm") != "yes":
        messages.error(request, _("ただちに送る規則を有効にするには、確認のチェックを入れてください。"))
    elif alert_rule_set_active(rule, active=active, actor=request.user, ip_address=client_ip(request)):
        messages.success(
            request,
            (_("「%(name)s」を有効にしました。") if active else _("「%(name)s」を無効にしました。"))
            % {"name": rule.name},
        )
    return redirect("console:alert_rules")
