"""The residents who are friends of a city's channel (or were: nothing is deleted on block)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel


class District(models.Model):
    """One of the city's own districts (地区), as residents pick them when they register."""

    code = models.CharField(_("コード"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    names_by_language = models.JSONField(_("他の言語での名称"), default=dict, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        return str(self.names_by_language.get(language) or self.name)


class Interest(models.Model):
    """A topic residents choose to hear about (防災, 子育て …); deliveries may be about one."""

    code = models.CharField(_("コード"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    names_by_language = models.JSONField(_("他の言語での名称"), default=dict, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        verbose_name = _("関心分野")
        verbose_name_plural = _("関心分野")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        return str(self.names_by_language.get(language) or self.name)


class Tag(models.Model):
    """A label on residents, set by staff or by what a resident did (e.g. 粗大ごみ予約済み)."""

    class Source(models.TextChoices):
        STAFF = "staff", _("職員が付与")
        AUTO = "auto", _("行動で自動付与")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    source = models.CharField(_("付け方"), max_length=10, choices=Source.choices, default=Source.STAFF)
    description = models.CharField(_("説明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("タグ")
        verbose_name_plural = _("タグ")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def reply_language_for(language: str) -> str:
    """The language to answer in: ja-easy (やさしい日本語) as chosen, else the base language of
    the resident's own (en-US → en); answers fall back to Japanese where none is written."""
    language = (language or "ja").lower()
    return language if language == "ja-easy" else language.split("-")[0]


class Resident(models.Model):
    """One LINE user of one channel. The LINE user id differs per provider, so it is per channel.

    What a resident registered (audience, district, age band, interests, children) is theirs to
    change at any time; segments and rich menus are computed from it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("友だち")
        BLOCKED = "blocked", _("ブロック中")

    class Audience(models.TextChoices):
        RESIDENT = "resident", _("市民")
        TOURIST = "tourist", _("観光で訪れる方")
        PROSPECTIVE = "prospective", _("移住を検討中の方")

    class AgeBand(models.TextChoices):
        UNDER_20 = "under20", _("20歳未満")
        TWENTIES = "20s", _("20代")
        THIRTIES = "30s", _("30代")
        FORTIES = "40s", _("40代")
        FIFTIES = "50s", _("50代")
        SIXTIES = "60s", _("60代")
        SEVENTY_PLUS = "70plus", _("70歳以上")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="residents")
    line_user_id = models.CharField(_("LINE ユーザー ID"), max_length=64)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    picture_url = models.URLField(_("プロフィール画像"), max_length=500, blank=True)
    language = models.CharField(_("言語"), max_length=20, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    followed_at = models.DateTimeField(_("友だち追加日時"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("ブロック日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    anonymised_at = models.DateTimeField(_("匿名化日時"), null=True, blank=True)

    # Registration (all optional; set by the resident, never guessed)
    audience = models.CharField(_("区分"), max_length=20, choices=Audience.choices, blank=True)
    district = models.ForeignKey(
        District,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("地区"),
    )
    age_band = models.CharField(_("年代"), max_length=10, choices=AgeBand.choices, blank=True)
    interests = models.ManyToManyField(
        Interest, blank=True, related_name="residents", verbose_name=_("関心分野")
    )
    tags: models.ManyToManyField[Tag, ResidentTag] = models.ManyToManyField(
        Tag, blank=True, through="ResidentTag", related_name="residents"
    )
    terms_version = models.CharField(_("同意した利用規約の版"), max_length=20, blank=True)
    registered_at = models.DateTimeField(_("登録日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("住民")
        verbose_name_plural = _("住民")
        constraints = [
            models.UniqueConstraint(fields=["channel", "line_user_id"], name="resident_unique_per_channel")
        ]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return self.display_name or self.line_user_id[-6:]

    @property
    def reply_language(self) -> str:
        return reply_language_for(self.language)


class ResidentTag(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resident", "tag"], name="resident_tag_once")]

    def __str__(self) -> str:
        return f"{self.resident_id}:{self.tag_id}"


class Child(models.Model):
    """A child's birthdate a parent chose to give, for 健診 and 予防接種 reminders. Nothing else
    about the child is kept."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="children")
    birthdate = models.DateField(_("生年月日"))

    class Meta:
        verbose_name = _("子ども")
        verbose_name_plural = _("子ども")
        ordering = ["birthdate"]

    def __str__(self) -> str:
        return str(self.birthdate)


class ErasureRequest(models.Model):
    """A data-subject request to erase a resident's personal data.

    It is carried out only when a second staff member approves it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        APPROVED = "approved", _("承認・匿名化済み")
        REJECTED = "rejected", _("却下")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="erasure_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("理由"), max_length=500)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("削除依頼")
        verbose_name_plural = _("削除依頼")

    def __str__(self) -> str:
        return f"{self.resident} ({self.get_status_display()})"
