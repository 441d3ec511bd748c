"""The FAQ in the console: entries, import/export, and what residents asked that the bot could not answer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import scope_to_department
from madoguchi.accounts.roles import Perm
from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.console.access import client_ip, staff_view
from madoguchi.console.editing import department_item_save
from madoguchi.core.audit import audit_record
from madoguchi.faq.images import MAX_BYTES as IMAGE_MAX_BYTES
from madoguchi.faq.images import ImageRefused, faq_image_clean, image_path
from madoguchi.faq.index import current_index
from madoguchi.faq.learning import SHOWN_GROUPS, waiting_groups, waiting_questions
from madoguchi.faq.models import FaqEntry, FaqImage, Synonym
from madoguchi.faq.services import (
    ANSWER_LANGUAGES,
    ImportRefused,
    faq_export_csv,
    faq_export_xlsx,
    faq_image_remove,
    faq_image_set,
    faq_import,
    faq_next_external_id,
    faq_variant_add,
    links_text,
    parse_links,
    questions_dismiss,
    questions_learned_as_entry,
    synonym_add,
    synonym_delete,
)
from madoguchi.faq.synonyms import DEFAULTS

# One answer field per language staff may write in: answer_ja_easy, answer_en, answer_zh …
LANGUAGE_FIELDS = {"answer_" + code.replace("-", "_"): code for code in ANSWER_LANGUAGES}
LANGUAGE_NAMES = dict(LANGUAGES)


def _question_ids(raw: str) -> list[int]:
    """The grouped questions a staff form carries ("12,13,20"); anything else is dropped."""
    return [int(part) for part in raw.split(",")[:1000] if part.strip().isdigit()]


class FaqEntryForm(forms.ModelForm):
    variants_text = forms.CharField(
        label=gettext_lazy("言い換え (1 行に 1 つ)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    links_text = forms.CharField(
        label=gettext_lazy("リンク (1 行に 1 つ: 表示名 https://…、4 つまで)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=5000,
    )
    # The grouped residents' questions this new entry answers (from the learning loop).
    from_questions = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20000)
    # The entry's picture, shown before the answer (faq.images checks and cleans it).
    image = forms.FileField(
        label=gettext_lazy("画像 (JPEG または PNG、10 MB まで)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=gettext_lazy(
            "回答の前に画像で送ります (分別表や地図など)。どの言語の住民にも同じ画像です。"
            "位置情報などの撮影情報は取り除きます。"
        ),
    )
    image_remove = forms.BooleanField(label=gettext_lazy("画像を外す"), required=False)
    IMAGE_FIELDS = ("image", "image_remove")

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
        self.fields["links_text"].initial = links_text(entry.links or [])
        for name, language in LANGUAGE_FIELDS.items():
            label = _("回答 (%(language)s)") % {"language": LANGUAGE_NAMES.get(language, language)}
            self.fields[name] = forms.CharField(
                label=label,
                widget=forms.Textarea(attrs={"rows": 3, "lang": "ja" if language == "ja-easy" else language}),
                required=False,
                max_length=5000,
                initial=(entry.answers_by_language or {}).get(language, ""),
                help_text=_("書かなければ日本語の回答を送ります。") if language == "ja-easy" else "",
            )

    def clean_image(self) -> Any:
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        if upload.size is not None and upload.size > IMAGE_MAX_BYTES:  # refused before it is read
            raise forms.ValidationError(
                _("画像が大きすぎます (%(mb)s MB まで)。") % {"mb": IMAGE_MAX_BYTES // 1_000_000}
            )
        try:
            return faq_image_clean(upload.read(IMAGE_MAX_BYTES + 1))
        except ImageRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_links_text(self) -> list[dict[str, str]]:
        links = parse_links(self.cleaned_data.get("links_text", ""))
        if isinstance(links, str):
            raise forms.ValidationError(links)
        return links

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
        entry.variants = list(
            dict.fromkeys(
                line.strip() for line in self.cleaned_data["variants_text"].splitlines() if line.strip()
            )
        )[:50]
        entry.links = self.cleaned_data["links_text"]
        entry.answers_by_language = {
            language: self.cleaned_data[field].strip()
            for field, language in LANGUAGE_FIELDS.items()
            if self.cleaned_data[field].strip()
        }
        if commit:
            entry.save()
        return entry


def _from_group(question_id: str) -> dict[str, str]:
    """A new entry from the learning loop: the group holding that question gives the question
    (its main wording), the variants (its other wordings) and the questions to mark handled."""
    if not question_id.isdigit():
        return {}
    group = next((g for g in waiting_groups() if int(question_id) in g.question_ids), None)
    if group is None:
        return {}
    return {
        "question": group.text,
        "variants_text": "\n".join(example.text for example in group.examples[1:]),
        "from_questions": ",".join(map(str, group.question_ids)),
    }


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
    waiting = waiting_questions().count()
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
    initial = None
    if entry is None:
        initial = {"external_id": faq_next_external_id(), **_from_group(request.GET.get("group", ""))}
    form = FaqEntryForm(request.POST or None, request.FILES or None, instance=entry, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = department_item_save(request, form, existing=entry, action="faq.entry")
            who: dict[str, Any] = {"actor": request.user, "ip_address": client_ip(request)}
            if form.cleaned_data.get("image"):
                faq_image_set(entry=saved, image=form.cleaned_data["image"], **who)  # type: ignore[arg-type]
            elif form.cleaned_data.get("image_remove"):
                faq_image_remove(entry=saved, **who)  # type: ignore[arg-type]
        learned = _question_ids(form.cleaned_data.get("from_questions") or "")
        if entry is None and learned:
            questions_learned_as_entry(
                entry=saved,  # type: ignore[arg-type]
                question_ids=learned,
                actor=request.user,  # type: ignore[arg-type]
                ip_address=client_ip(request),
            )
            messages.success(request, _("よくある質問を登録しました。住民の質問は対応済みにしました。"))
            return redirect("console:faq_questions")
        messages.success(request, _("よくある質問を保存しました。"))
        return redirect("console:faq")
    picture = FaqImage.objects.filter(entry=entry).only("key", "content_type").first() if entry else None
    return render(
        request,
        "console/faq_edit.html",
        {
            "form": form,
            "entry": entry,
            "language_fields": [form[name] for name in LANGUAGE_FIELDS],
            "image_fields": [form[name] for name in FaqEntryForm.IMAGE_FIELDS],
            "image_url": image_path(picture.key, picture.content_type) if picture else "",
        },
    )


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
def faq_export(request: HttpRequest, fmt: str = "csv") -> HttpResponse:
    audit_record(
        action="faq.entries.exported", actor=request.user, ip_address=client_ip(request), data={"format": fmt}
    )
    if fmt == "xlsx":
        response = HttpResponse(
            faq_export_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:  # with a BOM, so Excel in Japan opens the CSV as UTF-8
        response = HttpResponse("\ufeff" + faq_export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="faq.{fmt}"'
    return response


@staff_view(Perm.FAQ_MANAGE)
def faq_questions(request: HttpRequest) -> HttpResponse:
    """The learning loop: questions the bot could not answer, or whose answer did not help,
    grouped (faq.learning), each group one click from a variant, a new entry, or dismissal."""
    groups = waiting_groups(current_index())
    editable = dict(
        scope_to_department(FaqEntry.objects.all(), request.user).values_list("external_id", "question")
    )
    rows = [
        {
            "group": group,
            "ids": ",".join(map(str, group.question_ids)),
            "candidates": [{"id": c, "question": editable[c]} for c in group.candidate_ids if c in editable][
                :3
            ],
            "first_id": group.question_ids[0],
        }
        for group in groups[:SHOWN_GROUPS]
    ]
    audit_record(action="faq.questions.viewed", actor=request.user, ip_address=client_ip(request))
    return render(
        request,
        "console/faq_questions.html",
        {"rows": rows, "waiting": sum(g.times for g in groups), "more": max(len(groups) - SHOWN_GROUPS, 0)},
    )


@require_POST
@staff_view(Perm.FAQ_MANAGE)
def faq_add_variant(request: HttpRequest) -> HttpResponse:
    """One click: a resident's wording becomes a variant of an entry (the bot learns it at once),
    and the questions grouped with it are handled."""
    entry = get_object_or_404(
        scope_to_department(FaqEntry.objects.all(), request.user),
        external_id=request.POST.get("entry", "")[:40],
    )
    text = request.POST.get("text", "").strip()[:500]
    if not text:
        messages.error(request, _("言い換えにする質問を選んでください。"))
        return redirect("console:faq_questions")
    faq_variant_add(
        entry=entry,
        text=text,
        question_ids=_question_ids(request.POST.get("questions", "")),
        actor=request.user,  # type: ignore[arg-type]
        ip_address=client_ip(request),
    )
    messages.success(
        request,
        _("「%(text)s」を %(id)s の言い換えに追加しました。") % {"text": text, "id": entry.external_id},
    )
    return redirect("console:faq_questions")


@require_POST
@staff_view(Perm.FAQ_MANAGE)
def faq_dismiss_questions(request: HttpRequest) -> HttpResponse:
    """Questions that need nothing from the FAQ (the weather, chit-chat, abuse) leave the list."""
    handled = questions_dismiss(
        question_ids=_question_ids(request.POST.get("questions", "")),
        actor=request.user,  # type: ignore[arg-type]
        ip_address=client_ip(request),
    )
    messages.success(request, _("%(count)d 件を対応不要にしました。") % {"count": handled})
    return redirect("console:faq_questions")


class SynonymForm(forms.Form):
    term = forms.CharField(label=gettext_lazy("住民の言葉"), max_length=100)
    means = forms.CharField(
        label=gettext_lazy("FAQ の言葉"), max_length=300, help_text=gettext_lazy("空白で区切って複数")
    )


@staff_view(Perm.FAQ_MANAGE)
def faq_synonyms(request: HttpRequest) -> HttpResponse:
    """The synonym list staff edit (the city's defaults are shown, not edited), and a box to try
    a question against the FAQ as the bot would."""
    form = SynonymForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            synonym_add(
                term=form.cleaned_data["term"],
                means=form.cleaned_data["means"],
                actor=request.user,  # type: ignore[arg-type]
                ip_address=client_ip(request),
            )
        except ValueError as exc:
            form.add_error("term", str(exc))
        else:
            messages.success(request, _("同義語を追加しました。次の質問から使われます。"))
            return redirect("console:faq_synonyms")
    query = request.GET.get("q", "").strip()[:500]
    trial = None
    if query:
        decision = current_index().decide(query)
        titles = dict(FaqEntry.objects.values_list("external_id", "question"))
        trial = {
            "kind": decision.kind,
            "candidates": [
                {"id": c.id, "score": c.score, "question": titles.get(c.id, "")} for c in decision.candidates
            ],
        }
    return render(
        request,
        "console/faq_synonyms.html",
        {
            "form": form,
            "synonyms": Synonym.objects.order_by("term"),
            "defaults": [(term, " ".join(means)) for term, means in DEFAULTS],
            "query": query,
            "trial": trial,
        },
    )


@require_POST
@staff_view(Perm.FAQ_MANAGE)
def faq_synonym_delete(request: HttpRequest, synonym_id: int) -> HttpResponse:
    synonym = get_object_or_404(Synonym, pk=synonym_id)
    synonym_delete(synonym=synonym, actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    messages.success(request, _("同義語を削除しました。"))
    return redirect("console:faq_synonyms")
