"""Scenarios staff write without code, and their versions (draft → published → archived)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department


class Scenario(models.Model):
    """A named conversation. Its title and trigger words mirror its published version."""

    slug = models.SlugField(_("識別名"), max_length=50, unique=True)
    title = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scenarios",
        verbose_name=_("担当課"),
        help_text=_("空欄なら全庁共通"),
    )
    triggers = models.JSONField(_("開始する言葉"), default=list, blank=True)
    # `disaster: true` in the definition: while disaster mode is on, its trigger words are tried
    # before staff's keywords and every other scenario (docs/disaster.md).
    is_disaster = models.BooleanField(_("災害時のシナリオ"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("シナリオ")
        verbose_name_plural = _("シナリオ")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def published(self) -> ScenarioVersion | None:
        return self.versions.filter(status=ScenarioVersion.Status.PUBLISHED).first()

    @property
    def draft(self) -> ScenarioVersion | None:
        return self.versions.filter(status=ScenarioVersion.Status.DRAFT).first()


class ScenarioVersion(models.Model):
    """One version of a scenario's definition. History is never rewritten: a published version
    is only ever archived, and rolling back publishes a copy under a new number."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PUBLISHED = "published", _("公開中")
        ARCHIVED = "archived", _("過去の版")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版"))
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    definition = models.JSONField(_("定義"))
    # The YAML as staff wrote it (comments and layout kept for the editor and export).
    source = models.TextField(_("YAML"), blank=True)
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("シナリオの版")
        verbose_name_plural = _("シナリオの版")
        ordering = ["scenario", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "number"], name="scenario_version_number_unique"),
            models.UniqueConstraint(
                fields=["scenario"], condition=Q(status="published"), name="scenario_one_published"
            ),
            models.UniqueConstraint(
                fields=["scenario"], condition=Q(status="draft"), name="scenario_one_draft"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario.slug} v{self.number} ({self.get_status_display()})"
