"""Rich menus as staff define them, their copies on LINE, disaster mode and the sync jobs.

- `RichMenu`: one page of a menu (a grid, an image, an action per cell) for one audience; the
  audience's tabs are further pages (`tab_order` 1, 2 …) reached by `richmenuswitch` through
  aliases. Every edit raises `revision`; a sync creates the new revision on LINE (LINE's menus
  cannot be changed), moves residents over and deletes the old one.
- `PlatformMenu`: one menu created on LINE for one channel, revision and audience. A disaster
  menu is created once per audience (same image), so switching disaster mode on and off is
  a batch of `link from → to` operations that LINE carries out for every user, and switching
  back restores each resident's own audience menu.
- `DisasterMode`: the one switch, with who turned it on or off and when.
- `SyncJob`: the work of bringing LINE in line with the above, with its step and progress
  saved as it goes, so a job whose worker died is resumed where it stopped.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel
from madoguchi.richmenus.grids import GRID_CHOICES, GRIDS, Grid


class Audience(models.TextChoices):
    """Resident.audience, plus the default for residents who have not registered."""

    DEFAULT = "default", _("未登録の方 (既定)")
    RESIDENT = "resident", _("市民")
    TOURIST = "tourist", _("観光で訪れる方")
    PROSPECTIVE = "prospective", _("移住を検討中の方")


class RichMenu(models.Model):
    slug = models.SlugField(
        _("識別名 (英小文字・数字・-)"),
        max_length=24,
        unique=True,
        help_text=_("タブの切り替え先として使われます (LINE のエイリアス)。"),
    )
    title = models.CharField(_("名称"), max_length=100)
    audience = models.CharField(_("対象"), max_length=20, choices=Audience.choices)
    is_disaster = models.BooleanField(_("災害時のメニュー"), default=False)
    tab_order = models.PositiveSmallIntegerField(
        _("タブの順番"),
        default=0,
        help_text=_("0 が最初に表示されるメニュー、1 以降はタブで切り替えるページです。"),
    )
    grid = models.CharField(_("テンプレート"), max_length=20, choices=GRID_CHOICES, default="large6")
    chat_bar_text = models.CharField(_("メニューバーの文字"), max_length=14, default="メニュー")
    image = models.BinaryField(_("画像"), blank=True, default=b"")
    image_type = models.CharField(max_length=20, blank=True)
    cells = models.JSONField(_("各区画の動作"), default=list, blank=True)
    revision = models.PositiveIntegerField(_("版"), default=1)
    is_active = models.BooleanField(_("有効"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("リッチメニュー")
        verbose_name_plural = _("リッチメニュー")
        ordering = ["is_disaster", "audience", "tab_order", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "is_disaster", "tab_order"],
                condition=models.Q(is_active=True),
                name="richmenu_one_page_per_tab",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def grid_spec(self) -> Grid:
        return GRIDS[self.grid]


class PlatformMenu(models.Model):
    """A rich menu created on LINE. `image_uploaded` is set once LINE accepted the image;
    `deleted_at` once it was removed from LINE."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    menu = models.ForeignKey(RichMenu, on_delete=models.CASCADE, related_name="platform_menus")
    revision = models.PositiveIntegerField()
    audience = models.CharField(max_length=20, choices=Audience.choices)
    line_id = models.CharField(max_length=100, blank=True)
    image_uploaded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "menu", "revision", "audience"], name="platform_menu_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.menu.slug} r{self.revision} {self.audience} → {self.line_id or '…'}"

    @property
    def name(self) -> str:
        """The name on LINE: finds a menu created just before a crash, before its id was kept."""
        return f"madoguchi:{self.menu_id}:r{self.revision}:{self.audience}"


class DisasterMode(models.Model):
    """One row (pk 1): whether disaster mode is on, and who changed it when."""

    is_on = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("理由"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("災害モード")
        verbose_name_plural = _("災害モード")

    def __str__(self) -> str:
        return "on" if self.is_on else "off"


class SyncJob(models.Model):
    class Reason(models.TextChoices):
        PUBLISH = "publish", _("メニューの反映")
        DISASTER_ON = "disaster_on", _("災害モード開始")
        DISASTER_OFF = "disaster_off", _("災害モード終了")

    class Status(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("実行中")
        WAITING = "waiting", _("LINE の利用制限のため待機中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")
        SUPERSEDED = "superseded", _("後の反映に引き継ぎ")

    class Step(models.TextChoices):
        MENUS = "menus", _("メニューを作成")
        ALIASES = "aliases", _("タブの切り替え先を設定")
        DEFAULT = "default", _("既定のメニューを設定")
        MOVE = "move", _("住民のメニューを切り替え")
        CONFIRM = "confirm", _("切り替えの完了を確認")
        CLEANUP = "cleanup", _("古いメニューを削除")
        DONE = "done", _("完了")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=20, choices=Step.choices, default=Step.MENUS)
    # Moving residents: one LINE batch request (its id), or bulk links from our residents,
    # `cursor` being the last resident id done.
    batch_request_id = models.CharField(max_length=100, blank=True)
    batch_requested_at = models.DateTimeField(null=True, blank=True)
    use_bulk = models.BooleanField(default=False)
    # Audiences whose menu appeared in this job: their residents have no link yet, and a batch
    # only moves residents who have one, so they are linked in bulk first.
    link_audiences = models.JSONField(default=list, blank=True)
    cursor = models.BigIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return f"{self.reason} #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.WAITING)
