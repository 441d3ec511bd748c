"""The sorting guide (categories, items) and the collection calendar (areas, their rules, the
disposal centres' closures, which districts each area serves), and the evening reminder's
opt-ins and what it sent."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel
from madoguchi.garbage.calendar import ClosureHandling, HolidayPolicy, Rule, RuleError, parse_rule
from madoguchi.residents.models import District, Resident


class Category(models.Model):
    """A kind of garbage (燃やすごみ, 資源 …): how to put it out, and what happens on a holiday."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    description = models.TextField(_("出し方"), blank=True, max_length=2000)
    color = models.CharField(_("色"), max_length=7, blank=True, help_text="#rrggbb")
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    holiday_policy = models.CharField(
        _("祝日の収集"),
        max_length=10,
        choices=[
            (HolidayPolicy.COLLECT.value, _("通常どおり収集")),
            (HolidayPolicy.SKIP.value, _("収集しない")),
            (HolidayPolicy.MOVE.value, _("翌日(日曜・祝日を除く)に収集")),
        ],
        default=HolidayPolicy.COLLECT.value,
    )

    class Meta:
        verbose_name = _("ごみの種類")
        verbose_name_plural = _("ごみの種類")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.color and not (len(self.color) == 7 and self.color.startswith("#")):
            raise ValidationError({"color": _("#rrggbb の形で入力してください。")})
        if self.color:
            try:
                int(self.color[1:], 16)
            except ValueError:
                raise ValidationError({"color": _("#rrggbb の形で入力してください。")}) from None


class Item(models.Model):
    """One entry of the sorting guide: an item, its category and how to put it out."""

    class Source(models.TextChoices):
        FILE_5374 = "5374", _("5374 形式")
        TSU = "tsu", _("分別表(津市形式)")
        JITEN = "jiten", _("分別辞典(金沢市形式)")
        STAFF = "staff", _("職員が登録")

    name = models.CharField(_("品目"), max_length=200)
    reading = models.CharField(_("読み(ひらがな)"), max_length=300, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="items", verbose_name=_("分別")
    )
    notice = models.TextField(_("出し方のポイント"), blank=True, max_length=2000)
    source = models.CharField(_("出典"), max_length=10, choices=Source.choices, default=Source.STAFF)
    key = models.CharField(_("取込キー"), max_length=300, help_text=_("取り込み元での識別子"))
    is_active = models.BooleanField(_("公開"), default=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("品目")
        verbose_name_plural = _("品目")
        ordering = ["reading", "name"]
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="garbage_item_unique_key")]

    def __str__(self) -> str:
        return self.name


class Center(models.Model):
    """A disposal centre (管理センター) and its 年末年始 closure."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    closed_from = models.DateField(_("休止開始日"), null=True, blank=True)
    closed_until = models.DateField(_("休止終了日"), null=True, blank=True)
    closure_handling = models.CharField(
        _("休止期間の収集"),
        max_length=12,
        choices=[
            (ClosureHandling.SKIP.value, _("収集しない")),
            (ClosureHandling.WEEK_SHIFT.value, _("1週間後に収集")),
        ],
        default=ClosureHandling.WEEK_SHIFT.value,
    )

    class Meta:
        verbose_name = _("清掃センター")
        verbose_name_plural = _("清掃センター")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.closed_from) != bool(self.closed_until):
            raise ValidationError(_("休止開始日と休止終了日は両方入力してください。"))
        if self.closed_from and self.closed_until:
            if self.closed_until < self.closed_from:
                raise ValidationError(_("休止終了日は開始日より後にしてください。"))
            if (self.closed_until - self.closed_from).days > 31:
                raise ValidationError(_("休止期間は31日以内にしてください。"))


class Area(models.Model):
    """A collection area (5374's 校下・地区): the rules its residents' garbage is collected by."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    slug = models.SlugField(
        _("URL 名"), max_length=50, unique=True, help_text=_("カレンダー配信の URL に使います")
    )
    center = models.ForeignKey(
        Center,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="areas",
        verbose_name=_("清掃センター"),
    )
    sort_order = models.PositiveIntegerField(_("表示順"), default=0)

    class Meta:
        verbose_name = _("収集地区")
        verbose_name_plural = _("収集地区")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class AreaRule(models.Model):
    """When one category is collected in one area, in 5374's grammar (`月 木`, `水2`, …)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="rules")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules")
    rule = models.CharField(_("収集日"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("収集日")
        verbose_name_plural = _("収集日")
        constraints = [models.UniqueConstraint(fields=["area", "category"], name="garbage_rule_unique")]

    def __str__(self) -> str:
        return f"{self.area} {self.category}: {self.rule}"

    def clean(self) -> None:
        try:
            parse_rule(self.rule)
        except RuleError as error:
            raise ValidationError({"rule": str(error)}) from None

    def parsed(self) -> Rule:
        return parse_rule(self.rule)


class DistrictArea(models.Model):
    """Which collection area a resident's district belongs to (one area each; an area may
    serve several districts)."""

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="garbage_area")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="districts")

    class Meta:
        verbose_name = _("地区と収集地区")
        verbose_name_plural = _("地区と収集地区")

    def __str__(self) -> str:
        return f"{self.district} → {self.area}"


class ReminderSubscription(models.Model):
    """A resident who asked for the evening-before reminder. Deleted when they opt out."""

    resident = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="garbage_reminder")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ごみの日のお知らせ")
        verbose_name_plural = _("ごみの日のお知らせ")

    def __str__(self) -> str:
        return f"{self.resident_id}"


class ReminderRun(models.Model):
    """The reminder of one area's collections on one day, on one channel: claimed once, so a
    second run or a run after a crash never sends it twice."""

    class State(models.TextChoices):
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("失敗")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="reminder_runs")
    day = models.DateField(_("収集日"))
    categories = models.CharField(_("種類"), max_length=300)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    # The LINE user ids fixed when the run was claimed, so a resumed run sends the same batches
    # under the same dedupe keys; cleared once sent (nothing kept that is not needed).
    recipients = models.JSONField(default=list, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "area", "day"], name="garbage_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day} {self.state}"
