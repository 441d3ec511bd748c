"""Shelters (指定緊急避難場所・指定避難所) with the hazards each is designated for and the status
staff set during a disaster."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.disaster.hazards import HAZARDS
from madoguchi.residents.models import District


class Shelter(models.Model):
    class Source(models.TextChoices):
        GSI = "gsi", _("国土地理院形式")
        STANDARD = "standard", _("自治体標準オープンデータセット形式")
        STAFF = "staff", _("職員が登録")

    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("指定緊急避難場所")
        EVACUATION = "evacuation", _("指定避難所")

    class Status(models.TextChoices):
        CLOSED = "closed", _("未開設")
        OPEN = "open", _("開設")
        FULL = "full", _("満員")

    source = models.CharField(_("出典"), max_length=10, choices=Source.choices)
    key = models.CharField(_("取込キー"), max_length=100, help_text=_("取り込み元での ID(共通ID など)"))
    kind = models.CharField(_("種類"), max_length=12, choices=Kind.choices, default=Kind.EMERGENCY)
    name = models.CharField(_("名称"), max_length=200)
    address = models.CharField(_("住所"), max_length=300, blank=True)
    latitude = models.FloatField(_("緯度"))
    longitude = models.FloatField(_("経度"))
    # One flag per hazard (hazards.HAZARDS): the site is designated for it.
    flood = models.BooleanField(_("洪水"), default=False)
    landslide = models.BooleanField(_("崖崩れ・土石流・地滑り"), default=False)
    storm_surge = models.BooleanField(_("高潮"), default=False)
    earthquake = models.BooleanField(_("地震"), default=False)
    tsunami = models.BooleanField(_("津波"), default=False)
    fire = models.BooleanField(_("大規模な火事"), default=False)
    inland_flood = models.BooleanField(_("内水氾濫"), default=False)
    volcano = models.BooleanField(_("火山"), default=False)
    capacity = models.PositiveIntegerField(_("想定収容人数"), null=True, blank=True)
    capacity_text = models.CharField(_("想定収容人数(原文)"), max_length=200, blank=True)
    community = models.CharField(_("対象となる町会・自治会"), max_length=200, blank=True)
    district = models.ForeignKey(
        District,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shelters",
        verbose_name=_("地区"),
    )
    status = models.CharField(_("状況"), max_length=10, choices=Status.choices, default=Status.CLOSED)
    status_changed_at = models.DateTimeField(_("状況の更新日時"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("掲載"), default=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("避難所")
        verbose_name_plural = _("避難所")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="disaster_shelter_unique_key"),
            models.CheckConstraint(
                condition=models.Q(
                    latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180
                ),
                name="disaster_shelter_position",
            ),
        ]
        indexes = [models.Index(fields=["status", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def hazards(self) -> list[str]:
        """Codes of the hazards this site is designated for."""
        return [hazard.code for hazard in HAZARDS if getattr(self, hazard.code)]

    @property
    def map_url(self) -> str:
        return f"https://www.google.com/maps/search/?api=1&query={self.latitude:.6f},{self.longitude:.6f}"
