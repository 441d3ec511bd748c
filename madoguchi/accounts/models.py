"""Staff: departments (課) and each staff member's role, department, second factor and lockout."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.roles import Role
from madoguchi.core.crypto import EncryptedTextField


class Department(models.Model):
    code = models.SlugField(_("コード"), max_length=40, unique=True)
    name = models.CharField(_("課の名称"), max_length=100)

    class Meta:
        verbose_name = _("課")
        verbose_name_plural = _("課")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("課"),
    )
    totp_secret = EncryptedTextField(_("二要素認証の鍵"), blank=True)
    totp_confirmed = models.BooleanField(_("二要素認証を設定済み"), default=False)
    totp_last_step = models.BigIntegerField(default=0, help_text=_("使用済みの最後のコード (再利用防止)"))
    failed_logins = models.PositiveSmallIntegerField(default=0)
    # The staff member's own LINE account (user id on the city's channel), for test sends.
    line_user_id = models.CharField(_("自分の LINE ユーザー ID（テスト送信先）"), max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("職員")
        verbose_name_plural = _("職員")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()
