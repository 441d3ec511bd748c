"""What staff teach the bot (keywords) and where each resident is in a scenario flow."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident


class Keyword(models.Model):
    """A word or phrase staff defined, answered with a fixed text.

    Matching is on the normalised text (full-width letters and digits folded, case ignored).
    """

    class Match(models.TextChoices):
        EXACT = "exact", _("完全一致")
        CONTAINS = "contains", _("部分一致")

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, help_text=_("空欄ならすべてのチャネル")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="keywords",
        verbose_name=_("担当課"),
        help_text=_("空欄なら全庁共通"),
    )
    phrase = models.CharField(_("キーワード"), max_length=100)
    match = models.CharField(_("一致条件"), max_length=20, choices=Match.choices, default=Match.EXACT)
    reply_text = models.TextField(_("応答メッセージ"), max_length=5000)
    priority = models.IntegerField(_("優先度"), default=0, help_text=_("大きいほど先に照合します"))
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("キーワード応答")
        verbose_name_plural = _("キーワード応答")
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.phrase


class FlowState(models.Model):
    """The step a resident has reached in a scenario flow; one active flow per resident."""

    resident = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="flow_state")
    flow = models.CharField(max_length=100)
    step = models.CharField(max_length=100)
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.flow}:{self.step}"


class MissStreak(models.Model):
    """How many messages in a row the bot could not answer for a resident (gone once it can)."""

    resident = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="miss_streak")
    count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resident}: {self.count}"

    # Misses further apart than this are not a streak.
    WINDOW = timedelta(minutes=30)

    @classmethod
    def bump(cls, resident: Resident) -> int:
        streak, created = cls.objects.get_or_create(resident=resident, defaults={"count": 1})
        if created:
            return 1
        count = 1 if timezone.now() - streak.updated_at > cls.WINDOW else streak.count + 1
        streak.count = count
        streak.save(update_fields=["count", "updated_at"])
        return count
