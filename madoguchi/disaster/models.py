"""Shelters (指定緊急避難場所・指定避難所) with the hazards each is designated for and the status
staff set during a disaster."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
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


class Alert(models.Model):
    """An alert received (CAP or 気象庁防災情報XML), stored once per identifier, raw kept."""

    class Source(models.TextChoices):
        CAP = "cap", "CAP"
        JMA = "jma", _("気象庁防災情報XML")

    class Severity(models.TextChoices):
        UNKNOWN = "unknown", _("不明")
        MINOR = "minor", _("軽微")
        MODERATE = "moderate", _("中程度")
        SEVERE = "severe", _("重大")
        EXTREME = "extreme", _("極めて重大")

    source = models.CharField(_("種類"), max_length=5, choices=Source.choices)
    identifier = models.CharField(_("識別子"), max_length=250, unique=True)
    sent = models.DateTimeField(_("発表日時"))
    kind = models.CharField(_("分類"), max_length=50)
    event = models.CharField(_("事象"), max_length=200)
    severity = models.CharField(_("深刻度"), max_length=10, choices=Severity.choices)
    headline = models.TextField(_("見出し"), blank=True, max_length=500)
    areas = models.JSONField(_("地域コード"), default=list)
    area_names = models.JSONField(_("地域名"), default=list)
    status = models.CharField(_("状態"), max_length=20, blank=True)
    origin = models.CharField(_("受信元"), max_length=300, blank=True)
    raw = models.BinaryField(_("原文"))
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("警報・防災情報")
        verbose_name_plural = _("警報・防災情報")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} ({self.sent:%Y-%m-%d %H:%M})"


class AlertRule(models.Model):
    """Which alerts become which delivery: area code(s), kind, minimum severity → a template."""

    class Template(models.TextChoices):
        ELDERLY = "elderly", _("高齢者等避難")
        EVACUATE = "evacuate", _("避難指示")
        EMERGENCY = "emergency", _("緊急安全確保")
        SHELTERS_OPEN = "shelters_open", _("避難所開設")

    class Action(models.TextChoices):
        DRAFT = "draft", _("下書きを作る")
        EMERGENCY = "emergency", _("緊急配信として承認待ちにする")
        # No second person: sent as soon as the alert arrives (an actual one, not 訓練 or 試験),
        # approved in the name of the staff member who last saved the rule and confirmed this.
        IMMEDIATE = "immediate", _("緊急配信としてただちに送る(承認なし)")

    name = models.CharField(_("名前"), max_length=100)
    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="+", verbose_name=_("配信元")
    )
    area_codes = models.CharField(
        _("地域コード"), max_length=500, blank=True, help_text=_("カンマ区切り。空なら全地域")
    )
    kind = models.CharField(
        _("分類"), max_length=50, blank=True, help_text=_("例: landslide、Met。空なら全種類")
    )
    min_severity = models.CharField(
        _("深刻度(以上)"), max_length=10, choices=Alert.Severity.choices, default=Alert.Severity.SEVERE
    )
    template = models.CharField(_("文面"), max_length=20, choices=Template.choices)
    action = models.CharField(_("動作"), max_length=10, choices=Action.choices, default=Action.DRAFT)
    segment = models.ForeignKey(
        "messaging.Segment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("配信先セグメント(地区)"),
        help_text=_("空なら友だち全員"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("作成者")
    )
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True, null=True)

    class Meta:
        verbose_name = _("警報の規則")
        verbose_name_plural = _("警報の規則")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def codes(self) -> list[str]:
        return [code.strip() for code in self.area_codes.split(",") if code.strip()]


class AlertDelivery(models.Model):
    """What an alert produced: one delivery (draft or emergency awaiting approval) per rule."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="produced")
    rule = models.ForeignKey(AlertRule, on_delete=models.SET_NULL, null=True, related_name="+")
    delivery = models.ForeignKey("messaging.Delivery", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "rule"], name="disaster_alert_rule_once")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.delivery_id}"


FEED_INTERVAL_MIN = 15  # seconds; the periodic job runs every 15 s
FEED_INTERVAL_MAX = 86_400  # a day: a feed polled less often than that is a feed forgotten
FEED_URL_MAX = 500


def feed_url_refusal(url: str) -> str:
    """Why a feed URL cannot be saved, in Japanese, or "" when it can: the one rule for a feed's
    URL (the model's validator, so the admin site and the console's form both apply it). https
    only, http too when `MADOGUCHI_ALERT_FEED_ALLOW_HTTP` (development, local test servers); a
    host; printable ASCII (no spaces, control characters or emoji: paste the percent-encoded
    form); at most FEED_URL_MAX characters. Where the poller goes from there is its own rule
    (`feeds.py`): an Atom feed's entries only on the feed's own origin."""
    allow_http = settings.MADOGUCHI_ALERT_FEED_ALLOW_HTTP
    if not url:
        return gettext("URL を入れてください。")
    if len(url) > FEED_URL_MAX:
        return gettext("URL は %(max)d 文字以内にしてください。") % {"max": FEED_URL_MAX}
    if not all(" " < char < "\x7f" for char in url):
        return gettext(
            "URL に使えない文字(空白、全角文字、絵文字など)が入っています。半角の URL を入れてください。"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return gettext("URL として読めません。")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_http):
        if allow_http:
            return gettext("https:// か http:// で始まる URL を入れてください。")
        return gettext("https:// で始まる URL を入れてください(暗号化されない http:// は使えません)。")
    if not parts.hostname:
        return gettext("URL にホスト名がありません。")
    return ""


def validate_feed_url(value: str) -> None:
    refusal = feed_url_refusal(value)
    if refusal:
        raise ValidationError(refusal, code="feed_url")


class AlertFeed(models.Model):
    """A feed URL polled for alerts: an Atom feed whose entries link to alert documents (気象庁's
    高頻度フィード), or one CAP / 気象庁防災情報XML document fetched again each time. Polled by the
    worker (`feeds.feed_poll`); the last failure is kept for the console's alert list."""

    class Kind(models.TextChoices):
        # What the URL answered when last read through (set by the poller): nothing before.
        ATOM = "atom", _("Atom フィード")
        DOCUMENT = "document", _("単一の文書")

    name = models.CharField(_("名前"), max_length=100)
    url = models.URLField(
        _("URL"),
        max_length=FEED_URL_MAX,
        validators=[validate_feed_url],
        help_text=_("https:// で始まる URL"),
    )
    is_active = models.BooleanField(_("有効"), default=True)
    interval_seconds = models.PositiveIntegerField(
        _("取得間隔(秒)"),
        default=60,
        validators=[MinValueValidator(FEED_INTERVAL_MIN), MaxValueValidator(FEED_INTERVAL_MAX)],
    )
    kind = models.CharField(_("形式"), max_length=10, choices=Kind.choices, blank=True)
    known_kinds_only = models.BooleanField(
        _("扱う種類だけ取得"),
        default=True,
        help_text=_(
            "項目名が扱う種類の気象庁電文(警報・注意報、土砂災害、洪水、地震、津波)でなければ取得しない"
        ),
    )
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    next_poll_at = models.DateTimeField(_("次の取得"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("最後の取得"), null=True, blank=True)
    last_ok_at = models.DateTimeField(_("最後に成功した取得"), null=True, blank=True)
    last_error = models.CharField(_("最後の失敗"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("失敗した日時"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("連続失敗回数"), default=0)

    class Meta:
        verbose_name = _("警報の受信フィード")
        verbose_name_plural = _("警報の受信フィード")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["is_active", "next_poll_at"])]

    def __str__(self) -> str:
        return self.name


class AlertFeedEntry(models.Model):
    """An Atom entry of a feed, fetched once (keyed by its atom:id); a transient failure is tried
    again at the next polls, a few times."""

    class State(models.TextChoices):
        STORED = "stored", _("取り込み済み")
        DUPLICATE = "duplicate", _("受信済みの警報")
        REFUSED = "refused", _("受け付けなかった")
        RETRY = "retry", _("再取得待ち")

    feed = models.ForeignKey(AlertFeed, on_delete=models.CASCADE, related_name="entries")
    entry_id = models.CharField(max_length=500)
    url = models.CharField(max_length=500)
    title = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    seen_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feed", "entry_id"], name="disaster_feed_entry_once")]
        indexes = [models.Index(fields=["seen_at"])]

    def __str__(self) -> str:
        return f"{self.feed_id}: {self.entry_id}"


class SafetyConfirmation(models.Model):
    """A safety confirmation (安否確認) staff sent to every friend or to some districts, and the
    optional time non-responders are asked again. Residents' answers are `SafetyAnswer`s."""

    class Status(models.TextChoices):
        OPEN = "open", _("受付中")
        CLOSED = "closed", _("終了")

    channel = models.ForeignKey(
        "core.Channel", on_delete=models.PROTECT, related_name="+", verbose_name=_("配信元")
    )
    title = models.CharField(_("件名"), max_length=60)
    # District ids it was sent to; empty: every friend. Kept as a list so an answer is checked
    # against the confirmation with the one row it reads anyway.
    district_ids = models.JSONField(_("地区"), default=list, blank=True)
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.OPEN)
    delivery = models.ForeignKey(
        "messaging.Delivery", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reask_at = models.DateTimeField(_("未回答の方への再送日時"), null=True, blank=True)
    reasked_at = models.DateTimeField(_("再送した日時"), null=True, blank=True)
    reask_delivery = models.ForeignKey(
        "messaging.Delivery", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("開始した職員")
    )
    created_at = models.DateTimeField(_("開始日時"), auto_now_add=True)
    closed_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("安否確認")
        verbose_name_plural = _("安否確認")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "reask_at"])]

    def __str__(self) -> str:
        return self.title


class SafetyAnswer(models.Model):
    """One resident's answer to one confirmation: the latest wins (written with one
    INSERT … ON CONFLICT DO UPDATE, services.safety_answer_record)."""

    class Status(models.TextChoices):
        SAFE = "safe", _("無事")
        HELP = "help", _("支援が必要")
        FAMILY = "family", _("家族と連絡が取れない")

    confirmation = models.ForeignKey(SafetyConfirmation, on_delete=models.CASCADE, related_name="answers")
    resident = models.ForeignKey("residents.Resident", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("回答"), max_length=10, choices=Status.choices)
    answered_at = models.DateTimeField(_("回答日時"))

    class Meta:
        verbose_name = _("安否の回答")
        verbose_name_plural = _("安否の回答")
        constraints = [
            models.UniqueConstraint(fields=["confirmation", "resident"], name="disaster_safety_answer_once")
        ]
        indexes = [models.Index(fields=["confirmation", "status"])]

    def __str__(self) -> str:
        return f"{self.confirmation_id}: {self.resident_id} {self.status}"
