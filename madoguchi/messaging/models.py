"""Deliveries: what the city sends to many residents at once, to whom, when, and how it went.

A `Delivery` is what staff compose and approve; each time it goes out (once, or every week for
a recurring one) is a `DeliveryRun`, whose recipients are fixed when it starts and split into
`DeliveryBatch`es of at most 500 (LINE's multicast limit). Each batch is sent under its own
dedupe key, so a crash resumes with no duplicate and no miss (docs/deliveries.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Channel
from madoguchi.residents.models import Child, Interest, Resident


class Segment(models.Model):
    """A set of residents described by conditions (segments.py), evaluated when used."""

    name = models.CharField(_("名称"), max_length=100)
    description = models.CharField(_("説明"), max_length=300, blank=True)
    conditions = models.JSONField(_("条件"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("セグメント")
        verbose_name_plural = _("セグメント")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MessageTemplate(models.Model):
    """Message content (content.py) saved to start new deliveries from."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    content = models.JSONField(_("内容"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("テンプレート")
        verbose_name_plural = _("テンプレート")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PENDING_APPROVAL = "pending_approval", _("承認待ち")
        APPROVED = "approved", _("承認済み")  # scheduled, or recurring between runs
        SENDING = "sending", _("配信中")
        DONE = "done", _("配信完了")
        CANCELLED = "cancelled", _("中止")

    class Target(models.TextChoices):
        ALL = "all", _("友だち全員")
        SEGMENT = "segment", _("セグメント")

    class Recurrence(models.TextChoices):
        NONE = "", _("繰り返さない")
        DAILY = "daily", _("毎日")
        WEEKLY = "weekly", _("毎週")
        MONTHLY = "monthly", _("毎月")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    title = models.CharField(_("件名（職員用）"), max_length=200)
    target = models.CharField(_("配信先"), max_length=10, choices=Target.choices, default=Target.SEGMENT)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("セグメント"),
    )
    topic = models.ForeignKey(
        Interest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("話題"),
        help_text=_("選ぶと、この関心分野を登録した方にだけ届きます（緊急配信を除く）。"),
    )
    is_emergency = models.BooleanField(_("緊急配信"), default=False)
    # A recipient filter a feature app registered (sending.RECIPIENT_FILTERS), "name:argument":
    # a safety confirmation's districts, or those who have not answered it yet.
    recipient_filter = models.CharField(max_length=100, blank=True)
    # {"ja": [message, …], "en": […], "ja-easy": […]}: content.py
    content = models.JSONField(_("内容"), default=dict)
    scheduled_at = models.DateTimeField(_("配信日時"), null=True, blank=True)
    recurrence = models.CharField(
        _("繰り返し"), max_length=10, choices=Recurrence.choices, default=Recurrence.NONE, blank=True
    )
    recurrence_until = models.DateField(_("繰り返しの終了日"), null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("配信")
        verbose_name_plural = _("配信")
        indexes = [models.Index(fields=["status", "next_run_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.PENDING_APPROVAL)


class DeliveryRun(models.Model):
    """One sending of a delivery. Recipients are fixed in batches as it starts."""

    class Status(models.TextChoices):
        PREPARING = "preparing", _("宛先を準備中")
        SENDING = "sending", _("送信中")
        DONE = "done", _("完了")
        CANCELLED = "cancelled", _("中止")

    class Method(models.TextChoices):
        MULTICAST = "multicast", _("マルチキャスト")
        BROADCAST = "broadcast", _("一斉配信（ブロードキャスト）")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(default=1)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.MULTICAST)
    status = models.CharField(_("状態"), max_length=20, choices=Status.choices, default=Status.PREPARING)
    priority = models.SmallIntegerField(default=0)  # emergencies first
    # Recipients are read in resident-id order; a prepare that stopped resumes after this id.
    prepared_through = models.BigIntegerField(default=0)
    prepare_heartbeat = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(_("宛先数"), default=0)
    batches = models.PositiveIntegerField(default=0)
    # Set after the last batch: sent and failed recipients (LINE counts blocked friends as sent).
    sent = models.PositiveIntegerField(_("送信数"), default=0)
    failed = models.PositiveIntegerField(_("失敗数"), default=0)
    line_request_id = models.CharField(max_length=64, blank=True)  # broadcast
    # LINE's insight counts a multicast's opens under this unit (set as the run starts; runs
    # before per-run units shared their delivery's `madoguchi_d<id>`).
    aggregation_unit = models.CharField(max_length=30, blank=True)
    opened = models.PositiveIntegerField(_("開封数"), null=True, blank=True)
    clicked = models.PositiveIntegerField(_("クリック数"), null=True, blank=True)
    insight_checked_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("配信実行")
        verbose_name_plural = _("配信実行")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="delivery_run_number")]
        indexes = [models.Index(fields=["status", "priority"])]

    def __str__(self) -> str:
        return f"{self.delivery} #{self.number}"

    @staticmethod
    def aggregation_unit_for(delivery_id: int, number: int) -> str:
        """The run's own name for LINE's insight ([a-zA-Z0-9_]{1,30}, one per request): each run of a
        recurring delivery is counted apart. Short enough for ids of 9 digits and 8-digit runs."""
        return f"madoguchi_d{delivery_id}_r{number}"[:30]


class DeliveryBatch(models.Model):
    """Up to 500 recipients of a run who get the same messages (one language variant)."""

    class State(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("失敗")
        CANCELLED = "cancelled", _("中止")

    run = models.ForeignKey(DeliveryRun, on_delete=models.CASCADE, related_name="batch_set")
    seq = models.PositiveIntegerField()
    variant = models.CharField(max_length=20)  # the content language these recipients get
    params = models.JSONField(default=dict, blank=True)  # placeholder values shared by the batch
    # LINE user ids, one per line (compact: a batch of 500 is ~17 kB)
    user_ids = models.TextField()
    size = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    priority = models.SmallIntegerField(default=0)  # the run's, copied so claiming needs no join
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The sending process (core.processes.process_token): on its own machine, a worker that
    # starts takes over at once what a killed one held.
    claimed_by = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="delivery_batch_seq")]
        indexes = [models.Index(fields=["state", "-priority", "id"], name="delivery_batch_claim")]

    def __str__(self) -> str:
        return f"{self.run} batch {self.seq}"

    @property
    def dedupe_key(self) -> str:
        return f"delivery:{self.run_id}:{self.seq}"


class StepSequence(models.Model):
    """Messages sent some days after a resident follows or registers, or on days counted from a
    date the resident gave (a child's birthdate: 健診 and 予防接種 reminders)."""

    class Trigger(models.TextChoices):
        FOLLOW = "follow", _("友だち追加から")
        REGISTRATION = "registration", _("登録から")
        CHILD_BIRTHDATE = "child_birthdate", _("子どもの生年月日から")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="step_sequences")
    name = models.CharField(_("名称"), max_length=100)
    trigger = models.CharField(_("起点"), max_length=20, choices=Trigger.choices)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("対象を絞るセグメント"),
    )
    is_active = models.BooleanField(_("有効"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ステップ配信")
        verbose_name_plural = _("ステップ配信")

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One message of a sequence: so many days (and months, for birthdates) after its anchor."""

    sequence = models.ForeignKey(StepSequence, on_delete=models.CASCADE, related_name="steps")
    months = models.PositiveSmallIntegerField(_("月数"), default=0)
    days = models.PositiveSmallIntegerField(_("日数"), default=0)
    send_time = models.TimeField(_("送信時刻"), default="10:00")
    content = models.JSONField(_("内容"), default=dict)

    class Meta:
        verbose_name = _("ステップ")
        verbose_name_plural = _("ステップ")
        ordering = ["months", "days", "id"]

    def __str__(self) -> str:
        return f"{self.sequence}: +{self.months}m{self.days}d"


class StepSend(models.Model):
    """A step sent to one resident (for one child): never twice."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="sends")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "resident", "child"], name="step_send_once"),
            models.UniqueConstraint(
                fields=["step", "resident"], condition=models.Q(child=None), name="step_send_once_no_child"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} → {self.resident_id}"


class StepEnrollment(models.Model):
    """A resident following a follow/registration sequence, from the moment it started."""

    sequence = models.ForeignKey(StepSequence, on_delete=models.CASCADE, related_name="enrollments")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    anchored_at = models.DateTimeField()
    # When the first of its steps not yet sent is due (steps.py): the job reads only enrolments
    # that are due, oldest first, so residents waiting for later steps never hold back a day 0.
    next_due_at = models.DateTimeField(null=True, blank=True)
    finished = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sequence", "resident"], name="step_enrollment_once")]
        indexes = [models.Index(fields=["sequence", "finished", "next_due_at"], name="step_enrollment_due")]

    def __str__(self) -> str:
        return f"{self.resident_id} in {self.sequence}"
