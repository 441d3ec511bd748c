"""Reads of conversations. Each checks the reader's permission; opening one is logged.

Counseling and inquiries never mix: a counseling conversation is reached only through the
counseling selectors, which only counselors pass, and inquiries never include counseling.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from madoguchi.accounts.access import has_permission, scope_to_department
from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Perm
from madoguchi.core.audit import audit_record
from madoguchi.inbox.models import Conversation

User = AbstractBaseUser | AnonymousUser


def _permission(counseling: bool) -> str:
    return Perm.COUNSELING_VIEW if counseling else Perm.INBOX_HANDLE


def conversations_visible(user: User, *, counseling: bool) -> QuerySet[Conversation]:
    if not has_permission(user, _permission(counseling)):
        raise PermissionDenied
    conversations = Conversation.objects.filter(is_counseling=counseling).select_related(
        "resident", "department", "assigned_to"
    )
    if counseling:
        return conversations  # counselors work as one team
    return scope_to_department(conversations, user)


def conversation_list(
    user: User,
    *,
    counseling: bool,
    status: str = "",
    mine: bool = False,
    ip_address: str | None = None,
    log: bool = True,
) -> QuerySet[Conversation]:
    """`log=False` for the page's own refreshes: the first load was logged."""
    conversations = conversations_visible(user, counseling=counseling)
    if status in Conversation.Status.values:
        conversations = conversations.filter(status=status)
    else:
        conversations = conversations.exclude(status=Conversation.Status.CLOSED)
    if mine:
        conversations = conversations.filter(assigned_to=user.pk)
    if log:
        audit_record(
            action="inbox.conversation.listed",
            actor=user,
            object_type="inbox.Conversation",
            ip_address=ip_address,
            data={"counseling": counseling, "status": status, "mine": mine},
        )
    # Crisis first, then waiting residents, longest-waiting first.
    return conversations.order_by("-crisis", "status", "-unread", "last_message_at")


def conversation_for_view(
    user: User, conversation_id: int, *, counseling: bool, ip_address: str | None = None, log: bool = True
) -> Conversation:
    """One conversation, opened by a staff member. The page's polling passes `log=False` and
    logs only when it shows new messages."""
    conversation = conversations_visible(user, counseling=counseling).get(pk=conversation_id)
    if log:
        audit_record(action="inbox.conversation.viewed", actor=user, obj=conversation, ip_address=ip_address)
    return conversation


def inbox_figures(user: User, *, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """How the counter is doing, for managers: counts and response times, no content, no names.

    Counseling appears as counts and times only, never split below the whole team.
    """
    if not has_permission(user, Perm.INBOX_FIGURES):
        raise PermissionDenied
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = Conversation.objects.filter(opened_at__gte=since)

    def minutes_to_answer(conversations: QuerySet[Conversation]) -> float | None:
        waits = [
            (answered - opened).total_seconds() / 60
            for opened, answered in conversations.exclude(first_response_at=None).values_list(
                "opened_at", "first_response_at"
            )
            if answered is not None
        ]
        return round(median(waits), 1) if waits else None

    open_filter = Q(status__in=[Conversation.Status.NEW, Conversation.Status.OPEN])
    departments = []
    inquiries = Conversation.objects.filter(is_counseling=False)
    for department in [*Department.objects.order_by("name"), None]:
        mine = inquiries.filter(department=department)
        counts = mine.aggregate(
            new=Count("id", filter=Q(status=Conversation.Status.NEW)),
            open=Count("id", filter=Q(status=Conversation.Status.OPEN)),
            closed=Count("id", filter=Q(status=Conversation.Status.CLOSED, closed_at__gte=since)),
        )
        departments.append(
            {
                "department": department,
                **counts,
                "median_minutes": minutes_to_answer(mine.filter(opened_at__gte=since)),
            }
        )
    counseling = Conversation.objects.filter(is_counseling=True)
    return {
        "days": days,
        "departments": departments,
        "opened": recent.filter(is_counseling=False).count(),
        "median_minutes": minutes_to_answer(recent.filter(is_counseling=False)),
        "unanswered": inquiries.filter(open_filter, first_response_at=None).count(),
        "counseling": {
            "open": counseling.filter(open_filter).count(),
            "crisis_open": counseling.filter(open_filter, crisis=True).count(),
            "opened": recent.filter(is_counseling=True).count(),
            "median_minutes": minutes_to_answer(recent.filter(is_counseling=True)),
        },
    }
