"""The inbox: residents' inquiries for the departments, and counseling for counselors alone.

The two share templates but not views: each view declares its own permission, and the selectors
keep counseling out of the inquiries (and the reverse) whatever id is typed into the address.
"""

from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import has_permission, scope_to_department, staff_profile
from madoguchi.accounts.models import Department, StaffProfile
from madoguchi.accounts.roles import ROLE_PERMISSIONS, Perm
from madoguchi.console.access import client_ip, staff_view
from madoguchi.core.audit import audit_record
from madoguchi.inbox.models import Attachment, CannedReply, Conversation, Message
from madoguchi.inbox.selectors import conversation_for_view, conversation_list, inbox_figures
from madoguchi.inbox.services import (
    conversation_assign,
    conversation_close,
    conversation_mark_read,
    conversation_open,
    conversation_reopen,
    message_resend,
    note_add,
    reply_send,
)
from madoguchi.residents.models import Resident
from madoguchi.residents.selectors import visible_residents


class TextForm(forms.Form):
    text = forms.CharField(max_length=5000, strip=True, widget=forms.Textarea(attrs={"rows": 3}))


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "text", "department"]


def _area(counseling: bool) -> dict[str, Any]:
    prefix = "counseling" if counseling else "inbox"
    return {
        "counseling": counseling,
        "title": _("相談") if counseling else _("問い合わせ"),
        "list_url": reverse(f"console:{prefix}"),
        "prefix": prefix,
    }


def _conversation(
    request: HttpRequest, conversation_id: int, counseling: bool, *, log: bool = True
) -> Conversation:
    try:
        return conversation_for_view(
            request.user, conversation_id, counseling=counseling, ip_address=client_ip(request), log=log
        )
    except Conversation.DoesNotExist:
        raise Http404 from None


# Lists


def _list(request: HttpRequest, counseling: bool) -> HttpResponse:
    status = request.GET.get("status", "")
    mine = request.GET.get("mine") == "1"
    refresh = request.GET.get("fragment") == "1"  # console.js refreshes the rows without a reload
    conversations = conversation_list(
        request.user,
        counseling=counseling,
        status=status,
        mine=mine,
        ip_address=client_ip(request),
        log=not refresh,
    )[:200]
    context = {
        **_area(counseling),
        "conversations": conversations,
        "status": status,
        "mine": mine,
        "statuses": Conversation.Status.choices,
    }
    if refresh:
        return render(request, "console/inbox_rows.html", context)
    return render(request, "console/inbox.html", context)


@staff_view(Perm.INBOX_HANDLE)
def inbox(request: HttpRequest) -> HttpResponse:
    return _list(request, counseling=False)


@staff_view(Perm.COUNSELING_VIEW)
def counseling(request: HttpRequest) -> HttpResponse:
    return _list(request, counseling=True)


# One conversation


def _assignees(request: HttpRequest, counseling: bool) -> list[Any]:
    permission = Perm.COUNSELING_VIEW if counseling else Perm.INBOX_HANDLE
    roles = [role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions]
    profiles = StaffProfile.objects.filter(role__in=roles, user__is_active=True).select_related("user")
    if not counseling:
        profiles = scope_to_department(profiles, request.user)
    return [profile.user for profile in profiles.order_by("user__username")]


def _page(request: HttpRequest, conversation_id: int, counseling: bool) -> HttpResponse:
    conversation = _conversation(request, conversation_id, counseling)
    if conversation.unread:
        conversation_mark_read(conversation, actor=request.user)
    canned = CannedReply.objects.filter(for_counseling=counseling)
    if not counseling:
        canned = scope_to_department(canned, request.user)
    history = (
        Conversation.objects.filter(resident=conversation.resident, is_counseling=counseling)
        .exclude(pk=conversation.pk)
        .order_by("-opened_at")[:10]
    )
    return render(
        request,
        "console/conversation.html",
        {
            **_area(counseling),
            "conversation": conversation,
            "resident": conversation.resident,
            "chat": conversation.messages.select_related("author", "attachment").all(),
            "history": history,
            "canned": canned,
            "assignees": _assignees(request, counseling),
            "departments": Department.objects.order_by("name"),
            "form": TextForm(),
            "can_see_resident": has_permission(request.user, Perm.RESIDENTS_VIEW),
        },
    )


@staff_view(Perm.INBOX_HANDLE)
def inquiry(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _page(request, conversation_id, counseling=False)


@staff_view(Perm.COUNSELING_VIEW)
def counseling_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _page(request, conversation_id, counseling=True)


def _messages_after(request: HttpRequest, conversation_id: int, counseling: bool) -> JsonResponse:
    """New messages since the last one the page shows, as HTML to append (polled by console.js)."""
    conversation = _conversation(request, conversation_id, counseling, log=False)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    new = list(conversation.messages.filter(pk__gt=after).select_related("author", "attachment"))
    if new:
        audit_record(
            action="inbox.conversation.viewed",
            actor=request.user,
            obj=conversation,
            ip_address=client_ip(request),
            data={"messages": [message.pk for message in new][:50]},
        )
        if conversation.unread:
            conversation_mark_read(conversation, actor=request.user)
    html = render_to_string(
        "console/chat_messages.html",
        {"chat": new, "conversation": conversation, **_area(counseling)},
        request=request,
    )
    # Replies the page still shows as 送信中: what became of them.
    pending = [int(i) for i in request.GET.get("pending", "").split(",")[:50] if i.isdigit()]
    delivered = {
        str(pk): Message.Delivery(state).label
        for pk, state in conversation.messages.filter(pk__in=pending)
        .exclude(delivery=Message.Delivery.PENDING)
        .values_list("pk", "delivery")
    }
    return JsonResponse(
        {
            "html": html,
            "last": new[-1].pk if new else after,
            "status": conversation.get_status_display(),
            "delivered": delivered,
        }
    )


@staff_view(Perm.INBOX_HANDLE)
def inquiry_messages(request: HttpRequest, conversation_id: int) -> JsonResponse:
    return _messages_after(request, conversation_id, counseling=False)


@staff_view(Perm.COUNSELING_VIEW)
def counseling_messages(request: HttpRequest, conversation_id: int) -> JsonResponse:
    return _messages_after(request, conversation_id, counseling=True)


def _act(request: HttpRequest, conversation_id: int, counseling: bool, action: str) -> HttpResponse:
    conversation = _conversation(request, conversation_id, counseling)
    staff = request.user
    back = redirect(f"console:{_area(counseling)['prefix']}_conversation", conversation_id=conversation.pk)
    if action in ("reply", "note"):
        form = TextForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("本文を入力してください (5000 文字まで)。"))
            return back
        if action == "reply":
            if conversation.is_closed:
                messages.error(request, _("完了した会話には返信できません。再開してから返信してください。"))
                return back
            reply_send(conversation, author=staff, text=form.cleaned_data["text"])
        else:
            note_add(conversation, author=staff, text=form.cleaned_data["text"])
    elif action == "assign":
        assignee_id = request.POST.get("assignee", "")
        assignee = next((u for u in _assignees(request, counseling) if str(u.pk) == assignee_id), None)
        if assignee_id and assignee is None:
            raise PermissionDenied  # someone who may not read this conversation
        department = None
        if not counseling and request.POST.get("department"):
            department = get_object_or_404(Department, pk=request.POST["department"])
        conversation_assign(conversation, actor=staff, assignee=assignee, department=department)
        messages.success(request, _("担当を変更しました。"))
    elif action == "close":
        conversation_close(conversation, actor=staff)
        messages.success(request, _("完了にしました。住民にお知らせし、自動応答に戻ります。"))
    elif action == "reopen":
        if not conversation_reopen(conversation, actor=staff):
            messages.error(request, _("この住民とは別の会話が続いているため、再開できません。"))
    elif action == "resend":
        message = get_object_or_404(Message, pk=request.POST.get("message") or 0, conversation=conversation)
        message_resend(message, actor=staff)
    else:
        raise Http404
    return back


@require_POST
@staff_view(Perm.INBOX_HANDLE)
def inquiry_action(request: HttpRequest, conversation_id: int, action: str) -> HttpResponse:
    return _act(request, conversation_id, False, action)


@require_POST
@staff_view(Perm.COUNSELING_VIEW)
def counseling_action(request: HttpRequest, conversation_id: int, action: str) -> HttpResponse:
    return _act(request, conversation_id, True, action)


def _attachment(
    request: HttpRequest, conversation_id: int, message_id: int, counseling: bool
) -> HttpResponse:
    """A resident's image or file, served so that a browser cannot be tricked into running it."""
    conversation = _conversation(request, conversation_id, counseling)
    attachment = get_object_or_404(Attachment, message_id=message_id, message__conversation=conversation)
    audit_record(
        action="inbox.attachment.viewed",
        actor=request.user,
        obj=conversation,
        ip_address=client_ip(request),
        data={"message": message_id},
    )
    is_image = attachment.content_type in ("image/jpeg", "image/png")
    response = HttpResponse(
        base64.b64decode(attachment.data),
        content_type=attachment.content_type if is_image else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    disposition = "inline" if is_image else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="message-{message_id}"'
    return response


@staff_view(Perm.INBOX_HANDLE)
def inquiry_attachment(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    return _attachment(request, conversation_id, message_id, counseling=False)


@staff_view(Perm.COUNSELING_VIEW)
def counseling_attachment(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    return _attachment(request, conversation_id, message_id, counseling=True)


@require_POST
@staff_view(Perm.INBOX_HANDLE)
def inquiry_start(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Staff write first (a follow-up, a missing document): the resident's open conversation, or
    a new one in the staff member's department."""
    resident = get_object_or_404(
        visible_residents(request.user).filter(
            status=Resident.Status.ACTIVE, anonymised_at=None, channel__is_confidential=False
        ),
        pk=resident_id,
    )
    profile = staff_profile(request.user)
    conversation, _opened = conversation_open(
        resident,
        origin=Conversation.Origin.STAFF,
        department=profile.department if profile else None,
        actor=request.user,
    )
    if conversation.is_counseling:
        raise PermissionDenied  # a crisis conversation is the counselors'
    return redirect("console:inbox_conversation", conversation_id=conversation.pk)


# Figures and canned replies


@staff_view(Perm.INBOX_FIGURES)
def figures(request: HttpRequest) -> HttpResponse:
    return render(request, "console/inbox_figures.html", {"figures": inbox_figures(request.user)})


CANNED_TITLE = gettext_lazy("定型文")


@staff_view(Perm.CANNED_MANAGE)
def canned_replies(request: HttpRequest) -> HttpResponse:
    # Counselors keep their own set; departments theirs (and the city-wide ones).
    for_counseling = has_permission(request.user, Perm.COUNSELING_VIEW)
    replies = scope_to_department(
        CannedReply.objects.filter(for_counseling=for_counseling).select_related("department"), request.user
    )
    profile = staff_profile(request.user)
    if request.method == "POST":
        if request.POST.get("delete"):
            reply = get_object_or_404(replies, pk=request.POST["delete"])
            audit_record(action="inbox.canned.deleted", actor=request.user, obj=reply)
            reply.delete()
            return redirect("console:canned")
        form = CannedReplyForm(request.POST)
        if form.is_valid():
            reply = form.save(commit=False)
            reply.for_counseling = for_counseling
            if (
                profile is not None
                and profile.department_id
                and not has_permission(request.user, Perm.STAFF_MANAGE)
            ):
                reply.department_id = profile.department_id  # a department's manager writes for it
            reply.save()
            audit_record(action="inbox.canned.created", actor=request.user, obj=reply)
            messages.success(request, _("定型文を追加しました。"))
            return redirect("console:canned")
    else:
        form = CannedReplyForm()
    return render(request, "console/canned.html", {"replies": replies, "form": form, "title": CANNED_TITLE})
