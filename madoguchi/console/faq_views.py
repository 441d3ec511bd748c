"""The FAQ in the console: entries, import/export, and what residents asked that the bot could not answer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import scope_to_department
from madoguchi.accounts.roles import Perm
from madoguchi.console.access import client_ip, staff_view
from madoguchi.console.editing import department_item_save
from madoguchi.core.audit import audit_record
from madoguchi.faq.matcher import fold
from madoguchi.faq.models import FaqEntry, Question
from madoguchi.faq.services import ImportRefused, faq_export_csv, faq_import

LANGUAGE_FIELDS = {"answer_en": "en", "answer_easy": "ja-easy"}


class FaqEntryForm(forms.ModelForm):
    variants_text = forms.CharField(
        label=gettext_lazy("言い換え (1 行に 1 つ)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    answer_en = forms.CharField(
        label=gettext_lazy("回答 (英語)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )
    answer_easy = forms.CharField(
        label=gettext_lazy("回答 (やさしい日本語)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )

    class Meta:
        model = FaqEntry
        fields = [
            "external_id",
            "category",
            "question",
            "answer",
            "department_label",
            "valid_from",
            "valid_until",
            "is_active",
        ]
        widgets = {
            "answer": forms.Textarea(attrs={"rows": 5}),
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entry = self.instance
        self.fields["variants_text"].initial = "\n".join(entry.variants or [])
        for field, language in LANGUAGE_FIELDS.items():
            self.fields[field].initial = (entry.answers_by_language or {}).get(language, "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("valid_from")
            and cleaned.get("valid_until")
            and cleaned["valid_from"] > cleaned["valid_until"]
        ):
            self.add_error("valid_until", _("掲載終了日は開始日より後にしてください。"))
        return cleaned

    def save(self, commit: bool = True) -> FaqEntry:
        entry: FaqEntry = super().save(commit=False)
        entry.variants = [
            line.strip() for line in self.cleaned_data["variants_text"].splitlines() if line.strip()
        ][:50]
        entry.answers_by_language = {
            language: self.cleaned_data[field].strip()
            for field, language in LANGUAGE_FIELDS.items()
            if self.cleaned_data[field].strip()
        }
        if commit:
            entry.save()
        return entry


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV または Excel ファイル"))


@staff_view(Perm.FAQ_MANAGE)
def faq_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    entries = scope_to_department(FaqEntry.objects.all(), request.user).order_by("external_id")
    if query:
        entries = entries.filter(
            Q(question__icontains=query) | Q(external_id=query) | Q(category__icontains=query)
        )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    waiting = Question.objects.filter(Q(outcome=Question.Outcome.ABSTAINED) | Q(helpful=False)).count()
    return render(
        request,
        "console/faq.html",
        {"page": page, "query": query, "waiting": waiting, "import_form": ImportForm()},
    )


@staff_view(Perm.FAQ_MANAGE)
def faq_edit(request: HttpRequest, entry_id: int | None = None) -> HttpResponse:
    entry = None
    if entry_id is not None:
        entry = get_object_or_404(scope_to_department(FaqEntry.objects.all(), request.user), pk=entry_id)
    initial = {"question": request.GET.get("question", "")[:500]} if entry is None else None
    form = FaqEntryForm(request.POST or None, instance=entry, initial=initial)
    if request.method == "POST" and form.is_valid():
        department_item_save(request, form, existing=entry, action="faq.entry")
        messages.success(request, _("よくある質問を保存しました。"))
        return redirect("console:faq")
    return render(request, "console/faq_edit.html", {"form": form, "entry": entry})


@require_POST
@staff_view(Perm.FAQ_MANAGE)
def faq_import_view(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("ファイルを選んでください。"))
        return redirect("console:faq")
    upload = form.cleaned_data["file"]
    try:
        report = faq_import(upload.read(), upload.name, actor=request.user)  # type: ignore[arg-type]
    except ImportRefused as exc:
        messages.error(request, str(exc))
        return redirect("console:faq")
    messages.success(
        request,
        _("取り込みました: 新規 %(created)d 件、更新 %(updated)d 件。")
        % {"created": report.created, "updated": report.updated},
    )
    for line in report.errors[:20]:
        messages.error(request, line)
    return redirect("console:faq")


@staff_view(Perm.FAQ_MANAGE)
def faq_export(request: HttpRequest) -> HttpResponse:
    audit_record(action="faq.entries.exported", actor=request.user, ip_address=client_ip(request))
    response = HttpResponse("\ufeff" + faq_export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="faq.csv"'
    return response


@staff_view(Perm.FAQ_MANAGE)
def faq_questions(request: HttpRequest) -> HttpResponse:
    """The learning loop: questions the bot could not answer, or whose answer did not help, grouped."""
    rows = (
        Question.objects.filter(Q(outcome=Question.Outcome.ABSTAINED) | Q(helpful=False))
        .values("text")
        .annotate(times=Count("id"), last=Max("asked_at"), last_id=Max("id"))
        .order_by("-times", "-last")[:200]
    )
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:  # residents write the same question in full and half width: group folded
        key = fold(row["text"]).strip()
        group = groups.setdefault(
            key, {"text": row["text"], "times": 0, "last": row["last"], "last_id": row["last_id"]}
        )
        group["times"] += row["times"]
    candidates = {
        q.pk: q.candidates[:3]
        for q in Question.objects.filter(pk__in=[g["last_id"] for g in groups.values()])
    }
    titles = dict(FaqEntry.objects.values_list("external_id", "question"))
    for group in groups.values():
        group["candidates"] = [
            {"id": c["id"], "question": titles.get(c["id"], "")} for c in candidates.get(group["last_id"], [])
        ]
    audit_record(action="faq.questions.viewed", actor=request.user, ip_address=client_ip(request))
    return render(
        request, "console/faq_questions.html", {"groups": sorted(groups.values(), key=lambda g: -g["times"])}
    )


@require_POST
@staff_view(Perm.FAQ_MANAGE)
def faq_add_variant(request: HttpRequest) -> HttpResponse:
    """One click: a resident's wording becomes a variant of an entry, and the bot learns it."""
    entry = get_object_or_404(
        scope_to_department(FaqEntry.objects.all(), request.user),
        external_id=request.POST.get("entry", "")[:40],
    )
    text = request.POST.get("text", "").strip()[:500]
    if text and text not in entry.variants:
        entry.variants = [*entry.variants, text][:50]
        entry.save(update_fields=["variants", "updated_at"])
        Question.objects.filter(text=text, helpful__isnull=True, outcome=Question.Outcome.ABSTAINED).update(
            entry=entry
        )
        audit_record(
            action="faq.entry.variant_added", actor=request.user, obj=entry, ip_address=client_ip(request)
        )
        messages.success(
            request,
            _("「%(text)s」を %(id)s の言い換えに追加しました。") % {"text": text, "id": entry.external_id},
        )
    return redirect("console:faq_questions")
