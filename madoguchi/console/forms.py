from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.chatbot.models import Keyword


class KeywordForm(forms.ModelForm):
    class Meta:
        model = Keyword
        fields = ["phrase", "match", "reply_text", "priority", "is_active"]
        widgets = {"reply_text": forms.Textarea(attrs={"rows": 4})}


class StaffCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("ユーザー名"),
        regex=r"^[a-zA-Z0-9._-]{3,150}$",
        help_text=_("半角英数字と . _ - (3 文字以上)"),
    )
    full_name = forms.CharField(label=_("氏名"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)
    department = forms.ModelChoiceField(label=_("課"), queryset=Department.objects.all(), required=False)
    password = forms.CharField(label=_("初期パスワード"), widget=forms.PasswordInput, strip=False)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(_("このユーザー名はすでに使われています。"))
        return username

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("role") in {Role.DEPT_STAFF, Role.DEPT_MANAGER} and not cleaned.get("department"):
            self.add_error("department", _("課の職員・管理者には課を選んでください。"))
        if cleaned.get("password") and cleaned.get("username"):
            user = get_user_model()(username=cleaned["username"], first_name=cleaned.get("full_name", ""))
            try:
                validate_password(cleaned["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, required=False)
