"""Roles and what each may do: the one table every console view's permission is checked against.

A view declares one permission (`console.access.staff_view(permission=...)`); a role holds a set
of them. Department scoping (a department's own items only) is a separate rule, applied by
`accounts.access.scope_to_department`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("システム管理者")
    DELIVERY = "delivery", _("配信・広報")
    DEPT_STAFF = "dept_staff", _("課の職員")
    DEPT_MANAGER = "dept_manager", _("課の管理者")
    COUNSELOR = "counselor", _("相談員")
    OPERATOR = "operator", _("委託事業者")
    AUDITOR = "auditor", _("監査担当")


class Perm:
    """Permission names. Areas not built yet add theirs when they arrive."""

    DASHBOARD_VIEW = "dashboard.view"
    RESIDENTS_VIEW = "residents.view"
    RESIDENTS_EXPORT = "residents.export"
    RESIDENTS_ERASE_REQUEST = "residents.erase_request"
    RESIDENTS_ERASE_APPROVE = "residents.erase_approve"
    RESIDENTS_TAG = "residents.tag"  # add and remove tags on residents
    KEYWORDS_MANAGE = "chatbot.keywords_manage"
    FAQ_MANAGE = "faq.manage"
    SCENARIOS_MANAGE = "scenarios.manage"
    EVENTS_VIEW = "line.events_view"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    STAFF_MANAGE = "staff.manage"
    SETTINGS_MANAGE = "settings.manage"  # channels and other set-up, in the admin site
    INBOX_HANDLE = "inbox.handle"  # read and answer residents' inquiries
    INBOX_FIGURES = "inbox.figures"  # response times and counts, no content
    CANNED_MANAGE = "inbox.canned_manage"
    COUNSELING_VIEW = "counseling.view"  # read and answer counseling: counselors alone
    SEGMENTS_MANAGE = "messaging.segments_manage"
    DELIVERIES_COMPOSE = "messaging.compose"  # write deliveries, step sequences and templates
    DELIVERIES_APPROVE = "messaging.approve"  # approve (and cancel) what others wrote
    RICHMENU_MANAGE = "richmenus.manage"  # the city's rich menus: edit and put on LINE
    DISASTER_SWITCH = "richmenus.disaster_switch"  # disaster mode on and off
    REPORTS_HANDLE = "reports.handle"  # defect reports: list, map, status, notes, merge
    REPORTS_EXPORT = "reports.export"
    REPORTS_PUBLISH = "reports.publish"  # show a report, its photos and outcome to the public
    REPORTS_API_KEYS = "reports.api_keys"  # Open311 API keys
    GARBAGE_MANAGE = "garbage.manage"  # the sorting guide, categories, holiday policy, areas' rules
    BULKY_MANAGE = "bulky.manage"  # 粗大ごみ: catalog, places, day lists and route export, phone bookings
    SHELTERS_STATUS = "disaster.shelters_status"  # list shelters, set 未開設 / 開設 / 満員
    SHELTERS_IMPORT = "disaster.shelters_import"  # import the shelter open data (GSI, standard dataset)
    ALERTS_VIEW = "disaster.alerts_view"  # alerts received (CAP, 気象庁) and the drafts they produced
    ALERT_RULES_MANAGE = "disaster.alert_rules_manage"  # the rules turning alerts into deliveries
    SAFETY_START = "disaster.safety_start"  # start a safety confirmation (安否確認), set its re-ask, close it
    SAFETY_VIEW = "disaster.safety_view"  # its roll-up by district (counts); names need inbox.handle too


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            Perm.DASHBOARD_VIEW,
            Perm.STAFF_MANAGE,
            Perm.SETTINGS_MANAGE,
            Perm.EVENTS_VIEW,
            Perm.KEYWORDS_MANAGE,
            Perm.FAQ_MANAGE,
            Perm.SCENARIOS_MANAGE,
            Perm.AUDIT_VIEW,
            Perm.INBOX_FIGURES,
            Perm.RICHMENU_MANAGE,
            Perm.DISASTER_SWITCH,
            Perm.REPORTS_API_KEYS,
            Perm.SHELTERS_STATUS,
            Perm.SHELTERS_IMPORT,
            Perm.ALERTS_VIEW,
            Perm.SAFETY_START,
            Perm.SAFETY_VIEW,
        }
    ),
    # 広報 owns deliveries and what every resident sees: the rich menus, and the disaster switch.
    Role.DELIVERY: frozenset(
        {
            Perm.DASHBOARD_VIEW,
            Perm.SCENARIOS_MANAGE,
            Perm.SEGMENTS_MANAGE,
            Perm.DELIVERIES_COMPOSE,
            Perm.DELIVERIES_APPROVE,
            Perm.RICHMENU_MANAGE,
            Perm.DISASTER_SWITCH,
            Perm.SHELTERS_STATUS,
            Perm.ALERTS_VIEW,
            Perm.ALERT_RULES_MANAGE,
            Perm.SAFETY_START,
            Perm.SAFETY_VIEW,
        }
    ),
    Role.DEPT_STAFF: frozenset(
        {
            Perm.DASHBOARD_VIEW,
            Perm.RESIDENTS_VIEW,
            Perm.RESIDENTS_TAG,
            Perm.KEYWORDS_MANAGE,
            Perm.FAQ_MANAGE,
            Perm.INBOX_HANDLE,
            Perm.REPORTS_HANDLE,
            Perm.GARBAGE_MANAGE,
            Perm.BULKY_MANAGE,
            Perm.SHELTERS_STATUS,
            Perm.SAFETY_VIEW,
        }
    ),
    Role.DEPT_MANAGER: frozenset(
        {
            Perm.DASHBOARD_VIEW,
            Perm.RESIDENTS_VIEW,
            Perm.RESIDENTS_TAG,
            Perm.RESIDENTS_EXPORT,
            Perm.RESIDENTS_ERASE_REQUEST,
            Perm.RESIDENTS_ERASE_APPROVE,
            Perm.KEYWORDS_MANAGE,
            Perm.FAQ_MANAGE,
            Perm.INBOX_HANDLE,
            Perm.INBOX_FIGURES,
            Perm.CANNED_MANAGE,
            Perm.SCENARIOS_MANAGE,
            Perm.SEGMENTS_MANAGE,
            Perm.DELIVERIES_COMPOSE,
            Perm.DELIVERIES_APPROVE,
            Perm.REPORTS_HANDLE,
            Perm.REPORTS_EXPORT,
            Perm.REPORTS_PUBLISH,
            Perm.GARBAGE_MANAGE,
            Perm.BULKY_MANAGE,
            Perm.SHELTERS_STATUS,
            Perm.SHELTERS_IMPORT,
            Perm.ALERTS_VIEW,
            Perm.ALERT_RULES_MANAGE,
            Perm.SAFETY_START,
            Perm.SAFETY_VIEW,
        }
    ),
    # Counseling is confidential: counselors alone see it (managers see its counts in the figures).
    Role.COUNSELOR: frozenset(
        {
            Perm.DASHBOARD_VIEW,
            Perm.RESIDENTS_VIEW,
            Perm.COUNSELING_VIEW,
            Perm.INBOX_FIGURES,
            Perm.CANNED_MANAGE,
        }
    ),
    # A contracted call centre answers inquiries.
    Role.OPERATOR: frozenset({Perm.DASHBOARD_VIEW, Perm.INBOX_HANDLE}),
    Role.AUDITOR: frozenset({Perm.DASHBOARD_VIEW, Perm.AUDIT_VIEW, Perm.AUDIT_EXPORT}),
}

# Roles whose login always needs the second factor.
TOTP_REQUIRED = frozenset({Role.ADMIN, Role.COUNSELOR, Role.AUDITOR})
# Roles that see every department's items, not only their own.
ALL_DEPARTMENTS = frozenset({Role.ADMIN, Role.AUDITOR})
