"""Defect reports (不具合通報): what residents report from LINE (a broken road, a dark
streetlight, dumped rubbish), with photos and a place, and what the city did about it.

A report is a draft while the resident is still answering the bot's questions (its photos are
fetched from LINE at once, since LINE deletes them), and is submitted when they confirm. From
then on its status moves 受付 → 対応中 → 完了 (or 対応不可 with a reason), each change a row of
its timeline that is sent to the reporter and to everyone who follows the report.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import Department
from madoguchi.core.crypto import EncryptedTextField
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident


class Category(models.Model):
    """A kind of defect, per city (data, edited in the admin): also an Open311 service."""

    code = models.SlugField(_("コード"), max_length=40, unique=True, help_text=_("Open311 の service_code"))
    name = models.CharField(_("名称"), max_length=20, help_text=_("LINE のボタンに出ます (20 文字まで)"))
    name_en = models.CharField(_("名称 (英語)"), max_length=40, blank=True)
    description = models.CharField(_("説明"), max_length=200, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report_categories",
        verbose_name=_("担当課"),
    )
    urgent_phone = models.CharField(
        _("緊急の電話番号"),
        max_length=40,
        blank=True,
        help_text=_("入力すると、このカテゴリでは通報を受け付けず、すぐ電話するよう案内します"),
    )
    urgent_text = models.CharField(_("緊急時の案内"), max_length=300, blank=True)
    keywords = models.CharField(
        _("キーワード"), max_length=200, blank=True, help_text=_("Open311 の keywords")
    )
    order = models.PositiveSmallIntegerField(_("並び順"), default=0)
    is_active = models.BooleanField(_("受付中"), default=True)

    class Meta:
        verbose_name = _("通報カテゴリ")
        verbose_name_plural = _("通報カテゴリ")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Area(models.Model):
    """A district of the city, as a box of latitude and longitude (routing, filters)."""

    code = models.SlugField(_("コード"), max_length=40, unique=True)
    name = models.CharField(_("地区名"), max_length=50)
    south = models.FloatField(_("南端の緯度"))
    west = models.FloatField(_("西端の経度"))
    north = models.FloatField(_("北端の緯度"))
    east = models.FloatField(_("東端の経度"))

    class Meta:
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east

    def clean(self) -> None:
        if not (-90 <= self.south < self.north <= 90 and -180 <= self.west < self.east <= 180):
            raise ValidationError(_("南端 < 北端、西端 < 東端 の緯度・経度を入力してください。"))


class Route(models.Model):
    """Which department handles a category in an area (otherwise the category's own)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routes")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="routes")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("振り分け")
        verbose_name_plural = _("振り分け")
        constraints = [models.UniqueConstraint(fields=["category", "area"], name="report_route_unique")]

    def __str__(self) -> str:
        return f"{self.category} / {self.area} → {self.department}"


class Report(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("入力中")
        RECEIVED = "received", _("受付")
        IN_PROGRESS = "in_progress", _("対応中")
        DONE = "done", _("完了")
        REJECTED = "rejected", _("対応不可")
        MERGED = "merged", _("重複 (統合済み)")

    class Source(models.TextChoices):
        LINE = "line", "LINE"
        OPEN311 = "open311", "Open311"

    class Place(models.TextChoices):
        MAP = "map", _("位置情報")
        TYPED = "typed", _("住所・目印 (文字)")
        PHOTO = "photo", _("写真の撮影位置")
        NONE = "", _("なし")

    number = models.CharField(_("受付番号"), max_length=20, unique=True, null=True, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resident = models.ForeignKey(
        Resident, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    source = models.CharField(_("受付経路"), max_length=20, choices=Source.choices, default=Source.LINE)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="reports", verbose_name=_("カテゴリ")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("担当課"),
    )
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("地区"))
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(_("理由"), max_length=500, blank=True)
    description = models.TextField(_("内容"), blank=True)
    latitude = models.FloatField(_("緯度"), null=True, blank=True)
    longitude = models.FloatField(_("経度"), null=True, blank=True)
    address = models.CharField(_("住所・目印"), max_length=200, blank=True)
    place = models.CharField(
        _("場所の伝え方"), max_length=10, choices=Place.choices, default=Place.NONE, blank=True
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("統合先"),
    )
    # Open311 reporters: who sent it (never shown in the API), and the media link they gave.
    api_key = models.ForeignKey(
        "ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    reporter_contact = EncryptedTextField(_("通報者の連絡先"), blank=True)
    media_url = models.CharField(_("メディア URL (未取得)"), max_length=500, blank=True)
    # Public outcome: shown on the public page and in the Open311 API only when published.
    is_public = models.BooleanField(_("公開"), default=False)
    public_note = models.CharField(_("公開する対応結果"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("受付日時"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("通報")
        verbose_name_plural = _("通報")
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            models.Index(fields=["category", "submitted_at"]),
            models.Index(fields=["latitude", "longitude"]),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    OPEN_STATUSES = (Status.RECEIVED, Status.IN_PROGRESS)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class Photo(models.Model):
    """A photo of a report: re-encoded without its metadata, kept encrypted, with a thumbnail."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    line_message_id = models.CharField(max_length=40, blank=True)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    data = EncryptedTextField()  # base64 of the cleaned picture, encrypted
    thumbnail = EncryptedTextField()  # base64 of a small JPEG, encrypted
    is_public = models.BooleanField(_("公開"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("写真")
        verbose_name_plural = _("写真")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "line_message_id"],
                condition=~models.Q(line_message_id=""),
                name="report_photo_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} {self.content_type} {self.width}x{self.height}"


class Update(models.Model):
    """One line of a report's timeline: a status change (told to the resident) or an internal note."""

    class Kind(models.TextChoices):
        STATUS = "status", _("状態の変更")
        NOTE = "note", _("内部メモ")
        ROUTED = "routed", _("担当課の変更")
        MERGED = "merged", _("統合")

    class Delivery(models.TextChoices):
        NONE = "", "-"
        PENDING = "pending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("状態"), max_length=20, choices=Report.Status.choices, blank=True)
    text = models.TextField(_("本文"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)
    delivery = models.CharField(
        _("住民への送信"), max_length=20, choices=Delivery.choices, default=Delivery.NONE, blank=True
    )

    class Meta:
        verbose_name = _("経過")
        verbose_name_plural = _("経過")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report} {self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class Follower(models.Model):
    """A resident told of every status change of a report: its reporter, and the reporters of
    duplicates merged into it."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="followers")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="followed_reports")
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "resident"], name="report_follower_once")]

    def __str__(self) -> str:
        return f"{self.resident} → {self.report}"


class ApiKey(models.Model):
    """A key for posting reports through the Open311 API (a partner's app, a contractor).

    Only the SHA-256 of the key is kept; the key itself is shown once, when it is made.
    """

    name = models.CharField(_("名前"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API キー")
        verbose_name_plural = _("API キー")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
