"""The console's navigation: every area the signed-in person may open, and no other."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.access import has_permission
from madoguchi.accounts.roles import Perm

AREAS = [
    ("console:dashboard", _("ダッシュボード"), Perm.DASHBOARD_VIEW),
    ("console:inbox", _("問い合わせ"), Perm.INBOX_HANDLE),
    ("console:counseling", _("相談"), Perm.COUNSELING_VIEW),
    ("console:residents", _("住民"), Perm.RESIDENTS_VIEW),
    ("console:tags", _("タグ"), Perm.RESIDENTS_VIEW),
    ("console:reports", _("不具合通報"), Perm.REPORTS_HANDLE),
    ("console:garbage_items", _("ごみ"), Perm.GARBAGE_MANAGE),
    ("console:bulky", _("粗大ごみ"), Perm.BULKY_MANAGE),
    ("console:safety", _("安否確認"), Perm.SAFETY_VIEW),
    ("console:shelters", _("避難所"), Perm.SHELTERS_STATUS),
    ("console:alerts", _("警報・防災情報"), Perm.ALERTS_VIEW),
    ("console:alert_feeds", _("警報の受信フィード"), Perm.ALERT_RULES_MANAGE),
    ("console:faq", _("よくある質問"), Perm.FAQ_MANAGE),
    ("console:scenarios", _("シナリオ"), Perm.SCENARIOS_MANAGE),
    ("console:deliveries", _("配信"), Perm.DELIVERIES_COMPOSE),
    ("console:segments", _("セグメント"), Perm.SEGMENTS_MANAGE),
    ("console:keywords", _("キーワード応答"), Perm.KEYWORDS_MANAGE),
    ("console:richmenus", _("リッチメニュー"), Perm.RICHMENU_MANAGE),
    ("console:inbox_figures", _("対応状況"), Perm.INBOX_FIGURES),
    ("console:canned", _("定型文"), Perm.CANNED_MANAGE),
    ("console:events", _("受信イベント"), Perm.EVENTS_VIEW),
    ("console:audit", _("監査ログ"), Perm.AUDIT_VIEW),
    ("console:staff", _("職員"), Perm.STAFF_MANAGE),
    ("console:api_keys", _("API キー"), Perm.REPORTS_API_KEYS),
    ("admin:index", _("設定"), Perm.SETTINGS_MANAGE),
]


def console_nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"console_nav": []}
    return {
        "console_nav": [
            {"url": reverse(name), "label": label, "current": request.path == reverse(name)}
            for name, label, permission in AREAS
            if has_permission(user, permission)
        ]
    }
