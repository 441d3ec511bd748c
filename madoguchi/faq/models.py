"""The FAQ knowledge base, the synonyms staff add, and what residents asked (the learning loop)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department
from madoguchi.residents.models import Resident


class FaqEntry(models.Model):
    external_id = models.CharField(_("ID"), max_length=40, unique=True)
    category = models.CharField(_("分類"), max_length=100, blank=True)
    question = models.CharField(_("質問"), max_length=500)
    variants = models.JSONField(_("言い換え"), default=list, blank=True, help_text=_("同じ質問の別の言い方"))
    answer = models.TextField(_("回答"), max_length=5000)
    links = models.JSONField(
        _("リンク"),
        default=list,
        blank=True,
        help_text=_('回答の下にボタンで出すページ [{"label": "...", "url": "https://..."}] (4 つまで)'),
    )
    answers_by_language = models.JSONField(
        _("他の言語の回答"), default=dict, blank=True, help_text=_('{"en": "...", "ja-easy": "..."}')
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="faq_entries",
        verbose_name=_("担当課"),
    )
    department_label = models.CharField(_("担当 (表示用)"), max_length=200, blank=True)
    valid_from = models.DateField(_("掲載開始日"), null=True, blank=True)
    valid_until = models.DateField(_("掲載終了日"), null=True, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("よくある質問")
        verbose_name_plural = _("よくある質問")
        ordering = ["external_id"]

    def __str__(self) -> str:
        return f"{self.external_id} {self.question}"

    def answer_in(self, language: str) -> str:
        return self.answers_by_language.get(language) or self.answer


class FaqImage(models.Model):
    """An entry's picture (a 分別表, a map), shown before the answer in every language.

    Kept apart from the entry so that building the matcher's index never reads the bytes. It is
    public (LINE fetches it from MADOGUCHI_PUBLIC_URL) under an unguessable `key`; a new upload
    gets a new key, so LINE and phones never show a cached old picture under the same URL."""

    entry = models.OneToOneField(FaqEntry, on_delete=models.CASCADE, related_name="image")
    key = models.CharField(max_length=40, unique=True)
    data = models.BinaryField()
    content_type = models.CharField(max_length=20)
    preview = models.BinaryField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("よくある質問の画像")
        verbose_name_plural = _("よくある質問の画像")

    def __str__(self) -> str:
        return f"{self.entry_id} {self.key}"


class Synonym(models.Model):
    """A resident's word and the FAQ words it stands for (ソファー → 粗大ごみ)."""

    term = models.CharField(_("住民の言葉"), max_length=100)
    means = models.CharField(_("FAQ の言葉"), max_length=300, help_text=_("空白で区切って複数"))
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("同義語")
        verbose_name_plural = _("同義語")

    def __str__(self) -> str:
        return f"{self.term} → {self.means}"


class Question(models.Model):
    """A resident's question, what the bot did with it, and whether it helped."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("回答")
        CHOICES = "choices", _("候補を提示")
        ABSTAINED = "abstained", _("回答なし")

    class Resolution(models.TextChoices):
        VARIANT = "variant", _("言い換えに追加")
        NEW_ENTRY = "new_entry", _("新しい質問として登録")
        DISMISSED = "dismissed", _("対応不要")

    resident = models.ForeignKey(Resident, on_delete=models.SET_NULL, null=True, blank=True)
    text = models.CharField(_("質問"), max_length=500)
    outcome = models.CharField(_("結果"), max_length=20, choices=Outcome.choices)
    entry = models.ForeignKey(
        FaqEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="asked",
        verbose_name=_("回答した項目"),
    )
    candidates = models.JSONField(default=list, blank=True)
    helpful = models.BooleanField(_("解決した"), null=True, blank=True)
    asked_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The learning loop: what staff did with a question the bot could not answer (or whose
    # answer did not help). Handled questions leave the staff's list.
    handled_at = models.DateTimeField(_("対応日時"), null=True, blank=True, db_index=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("対応"), max_length=20, choices=Resolution.choices, blank=True)
    resolved_entry = models.ForeignKey(
        FaqEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="learned_from",
        verbose_name=_("追加した項目"),
    )

    class Meta:
        verbose_name = _("住民の質問")
        verbose_name_plural = _("住民の質問")

    def __str__(self) -> str:
        return self.text[:40]
