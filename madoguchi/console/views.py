"""The staff console's screens. Each declares its permission with `staff_view`."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import has_permission, scope_to_department
from madoguchi.accounts.models import Department, StaffProfile
from madoguchi.accounts.roles import Perm
from madoguchi.accounts.services import staff_create, staff_unlock, totp_reset
from madoguchi.channels.line.inbound import events_replay
from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.chatbot.models import Keyword
from madoguchi.console.access import client_ip, staff_view
from madoguchi.console.editing import department_item_save
from madoguchi.console.forms import KeywordForm, ReasonForm, StaffCreateForm
from madoguchi.core.audit import audit_record
from madoguchi.core.models import AuditEntry, Channel
from madoguchi.faq.models import Question
from madoguchi.residents.models import ErasureRequest, Resident, Tag
from madoguchi.residents.selectors import resident_for_view, resident_search, visible_residents
from madoguchi.residents.services import SameApproverError, resident_erasure_approve, resident_erasure_request

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@staff_view(Perm.DASHBOARD_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    week_ago = timezone.now() - timedelta(days=7)
    figures = Resident.objects.aggregate(
        friends=Count("id", filter=Q(status=Resident.Status.ACTIVE)),
        blocked=Count("id", filter=Q(status=Resident.Status.BLOCKED)),
        new_this_week=Count("id", filter=Q(followed_at__gte=week_ago)),
    )
    events = InboundEvent.objects.aggregate(
        failed=Count("id", filter=Q(status=InboundEvent.Status.FAILED)),
        waiting=Count("id", filter=Q(status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.RETRYING])),
    )
    departments = Department.objects.annotate(
        active_keywords=Count("keywords", filter=Q(keywords__is_active=True), distinct=True),
        staff_count=Count("staff", distinct=True),
    )
    return render(
        request,
        "console/dashboard.html",
        {
            **figures,
            "failed_events": events["failed"],
            "unanswered_questions": Question.objects.filter(
                Q(outcome=Question.Outcome.ABSTAINED) | Q(helpful=False), asked_at__gte=week_ago
            ).count(),
            "waiting_events": events["waiting"],
            "channels": Channel.objects.filter(is_active=True).order_by("name"),
            "departments": departments,
        },
    )


# Residents


@staff_view(Perm.RESIDENTS_VIEW)
def residents(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    tag_id = request.GET.get("tag", "")
    tag = Tag.objects.filter(pk=int(tag_id)).first() if tag_id.isdigit() and len(tag_id) < 19 else None
    found = resident_search(request.user, query=query, tag=tag, ip_address=client_ip(request))
    return render(
        request, "console/residents.html", {"page": _page(request, found), "query": query, "tag": tag}
    )


def _timeline(resident: Resident) -> list[dict[str, Any]]:
    """What happened with this resident, newest first: their events, our answers, staff actions."""
    events = list(
        InboundEvent.objects.filter(
            channel=resident.channel_id, source_user_id=resident.line_user_id
        ).order_by("-received_at")[:100]
    )
    answers = {
        row.dedupe_key.removeprefix("answer:"): row
        for row in OutboundRequest.objects.filter(
            dedupe_key__in=[f"answer:{e.webhook_event_id}" for e in events]
        )
    }
    items: list[dict[str, Any]] = []
    for event in events:
        message = event.payload.get("message") if isinstance(event.payload.get("message"), dict) else {}
        postback = event.payload.get("postback") if isinstance(event.payload.get("postback"), dict) else {}
        summary = message.get("text") or message.get("type") or postback.get("data") or ""
        items.append(
            {
                "at": event.occurred_at,
                "kind": _("住民"),
                "what": event.event_type,
                "detail": str(summary)[:200],
            }
        )
        answer = answers.get(event.webhook_event_id)
        if answer is not None:
            texts = [
                m.get("text") or m.get("altText") or m.get("type") or _("(相談の内容は表示しません)")
                for m in answer.messages
            ]
            items.append(
                {
                    "at": answer.sent_at or answer.created_at,
                    "kind": _("市"),
                    "what": answer.get_status_display(),
                    "detail": " / ".join(texts)[:200],
                }
            )
    for entry in AuditEntry.objects.filter(
        object_type="residents.Resident", object_id=str(resident.pk)
    ).order_by("-id")[:100]:
        items.append({"at": entry.at, "kind": _("記録"), "what": entry.action, "detail": entry.actor_label})
    for question in Question.objects.filter(resident=resident).select_related("entry").order_by("-id")[:100]:
        verdict = "" if question.helpful is None else _("解決した") if question.helpful else _("解決しない")
        answered = question.entry.external_id if question.entry else ""
        items.append(
            {
                "at": question.asked_at,
                "kind": _("よくある質問"),
                "what": question.get_outcome_display(),
                "detail": " ".join(filter(None, [question.text[:150], answered, verdict])),
            }
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


@staff_view(Perm.RESIDENTS_VIEW)
def resident_detail(request: HttpRequest, resident_id: int) -> HttpResponse:
    try:
        resident = resident_for_view(request.user, resident_id, ip_address=client_ip(request))
    except Resident.DoesNotExist:
        return render(request, "console/not_found.html", status=404)
    permissions = {
        "export": has_permission(request.user, Perm.RESIDENTS_EXPORT),
        "erase_request": has_permission(request.user, Perm.RESIDENTS_ERASE_REQUEST),
        "erase_approve": has_permission(request.user, Perm.RESIDENTS_ERASE_APPROVE),
        "tag": has_permission(request.user, Perm.RESIDENTS_TAG) and resident.anonymised_at is None,
        # Staff may write first, to an active friend of a general channel (counseling is the
        # resident's to begin).
        "converse": has_permission(request.user, Perm.INBOX_HANDLE)
        and resident.status == Resident.Status.ACTIVE
        and resident.anonymised_at is None
        and not resident.channel.is_confidential,
    }
    pending = (
        resident.erasure_requests.filter(status=ErasureRequest.Status.PENDING)
        .select_related("requested_by")
        .first()
    )
    return render(
        request,
        "console/resident.html",
        {
            "resident": resident,
            "timeline": _timeline(resident),
            "can": permissions,
            "pending": pending,
            "reason_form": ReasonForm(),
            "interests": resident.interests.all(),
            "children": resident.children.all(),
            "tags": resident.tags.order_by("name"),
            "tag_names": Tag.objects.values_list("name", flat=True)[:500],
        },
    )


def _resident_export_data(resident: Resident) -> dict[str, Any]:
    events = InboundEvent.objects.filter(
        channel=resident.channel_id, source_user_id=resident.line_user_id
    ).order_by("id")
    event_ids = [f"answer:{e.webhook_event_id}" for e in events]
    return {
        "resident": {
            "id": resident.pk,
            "channel": resident.channel.slug,
            "line_user_id": resident.line_user_id,
            "display_name": resident.display_name,
            "picture_url": resident.picture_url,
            "language": resident.language,
            "status": resident.status,
            "followed_at": resident.followed_at,
            "blocked_at": resident.blocked_at,
            "created_at": resident.created_at,
            "terms_version": resident.terms_version,
            "registered_at": resident.registered_at,
            "audience": resident.audience,
            "district": resident.district.code if resident.district else "",
            "age_band": resident.age_band,
            "interests": ",".join(resident.interests.values_list("code", flat=True)),
            "children_birthdates": ",".join(str(c.birthdate) for c in resident.children.all()),
            "tags": ",".join(resident.tags.values_list("name", flat=True)),
        },
        "events": [{"at": e.occurred_at, "type": e.event_type, "payload": e.payload} for e in events],
        "messages_sent": [
            {"at": o.sent_at, "kind": o.kind, "status": o.status, "messages": o.messages}
            for o in OutboundRequest.objects.filter(dedupe_key__in=event_ids).order_by("id")
        ],
        "records": [
            {"at": a.at, "action": a.action, "by": a.actor_label}
            for a in AuditEntry.objects.filter(
                object_type="residents.Resident", object_id=str(resident.pk)
            ).order_by("id")
        ],
    }


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@staff_view(Perm.RESIDENTS_EXPORT)
def resident_export(request: HttpRequest, resident_id: int, fmt: str) -> HttpResponse:
    """APPI: everything held about one resident, as JSON or CSV; the export and its reason are logged."""
    resident = get_object_or_404(visible_residents(request.user).select_related("channel"), pk=resident_id)
    form = ReasonForm(request.GET)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    data = _resident_export_data(resident)
    audit_record(
        action="residents.resident.exported",
        actor=request.user,
        obj=resident,
        ip_address=client_ip(request),
        reason=reason,
        data={"format": fmt},
    )
    filename = f"resident-{resident.pk}.{fmt}"
    if fmt == "json":
        response: HttpResponse = JsonResponse(
            data, json_dumps_params={"ensure_ascii": False, "default": _json_default, "indent": 1}
        )
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
        writer = csv.writer(response)
        writer.writerow(["section", "at", "kind", "detail"])
        for key, value in data["resident"].items():
            writer.writerow(["resident", "", key, _csv_value(value)])
        for event in data["events"]:
            writer.writerow(
                [
                    "event",
                    _csv_value(event["at"]),
                    event["type"],
                    json.dumps(event["payload"], ensure_ascii=False),
                ]
            )
        for sent in data["messages_sent"]:
            writer.writerow(
                [
                    "message_sent",
                    _csv_value(sent["at"]),
                    sent["kind"],
                    json.dumps(sent["messages"], ensure_ascii=False),
                ]
            )
        for record in data["records"]:
            writer.writerow(["record", _csv_value(record["at"]), record["action"], record["by"]])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_value(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)
    # A cell starting with = + - @ would be run as a formula by Excel.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@require_POST
@staff_view(Perm.RESIDENTS_ERASE_REQUEST)
def resident_erasure(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = get_object_or_404(visible_residents(request.user), pk=resident_id)
    form = ReasonForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["reason"]:
        messages.error(request, _("削除の理由を入力してください。"))
    elif resident.erasure_requests.filter(status=ErasureRequest.Status.PENDING).exists():
        messages.info(request, _("この住民の削除依頼はすでに承認待ちです。"))
    else:
        resident_erasure_request(resident, actor=request.user, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
        messages.success(request, _("削除依頼を登録しました。別の職員の承認後に匿名化されます。"))
    return redirect("console:resident", resident_id=resident.pk)


@require_POST
@staff_view(Perm.RESIDENTS_ERASE_APPROVE)
def resident_erasure_approval(request: HttpRequest, request_id: int) -> HttpResponse:
    erasure = get_object_or_404(ErasureRequest, pk=request_id, resident__in=visible_residents(request.user))
    try:
        resident_erasure_approve(erasure, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("承認しました。住民の個人情報を匿名化しました。"))
    except SameApproverError:
        messages.error(request, _("依頼した本人は承認できません。別の職員が承認してください。"))
    return redirect("console:resident", resident_id=erasure.resident_id)


# Audit log


def _audit_filtered(request: HttpRequest) -> tuple[Any, dict[str, str]]:
    filters = {
        key: request.GET.get(key, "").strip()[:100] for key in ("actor", "action", "object", "since", "until")
    }
    entries = AuditEntry.objects.order_by("-id")
    if filters["actor"]:
        entries = entries.filter(actor_label__icontains=filters["actor"])
    if filters["action"]:
        entries = entries.filter(action__startswith=filters["action"])
    if filters["object"]:
        entries = entries.filter(object_id=filters["object"])
    if since := parse_date(filters["since"] or "x"):
        entries = entries.filter(at__date__gte=since)
    if until := parse_date(filters["until"] or "x"):
        entries = entries.filter(at__date__lte=until)
    return entries, filters


@staff_view(Perm.AUDIT_VIEW)
def audit(request: HttpRequest) -> HttpResponse:
    entries, filters = _audit_filtered(request)
    return render(request, "console/audit.html", {"page": _page(request, entries), "filters": filters})


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_view(Perm.AUDIT_EXPORT)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    entries, filters = _audit_filtered(request)
    audit_record(
        action="core.audit.exported",
        actor=request.user,
        ip_address=client_ip(request),
        reason=request.GET.get("reason", "")[:500],
        data={"filters": filters},
    )
    writer = csv.writer(_Echo())

    def rows() -> Any:
        yield "\ufeff"
        yield writer.writerow(
            [
                "id",
                "at",
                "actor",
                "action",
                "object_type",
                "object_id",
                "ip_address",
                "reason",
                "data",
                "hash",
            ]
        )
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.pk,
                    e.at.isoformat(),
                    _csv_value(e.actor_label),
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.ip_address or "",
                    _csv_value(e.reason),
                    json.dumps(e.data, ensure_ascii=False),
                    e.entry_hash,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


# Keywords (department-owned)


@staff_view(Perm.KEYWORDS_MANAGE)
def keywords(request: HttpRequest) -> HttpResponse:
    visible = scope_to_department(Keyword.objects.select_related("department", "channel"), request.user)
    return render(
        request, "console/keywords.html", {"page": _page(request, visible.order_by("-priority", "id"))}
    )


@staff_view(Perm.KEYWORDS_MANAGE)
def keyword_edit(request: HttpRequest, keyword_id: int | None = None) -> HttpResponse:
    keyword = None
    if keyword_id is not None:
        keyword = scope_to_department(Keyword.objects.all(), request.user).filter(pk=keyword_id).first()
        if keyword is None:
            raise PermissionDenied
    form = KeywordForm(request.POST or None, instance=keyword)
    if request.method == "POST" and form.is_valid():
        department_item_save(request, form, existing=keyword, action="chatbot.keyword")
        messages.success(request, _("キーワード応答を保存しました。"))
        return redirect("console:keywords")
    return render(request, "console/keyword_edit.html", {"form": form, "keyword": keyword})


# Inbound events


@staff_view(Perm.EVENTS_VIEW)
def events(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", InboundEvent.Status.FAILED)
    shown = InboundEvent.objects.select_related("channel").order_by("-received_at")
    if status in InboundEvent.Status.values:
        shown = shown.filter(status=status)
    return render(
        request,
        "console/events.html",
        {"page": _page(request, shown), "status": status, "statuses": InboundEvent.Status.choices},
    )


@require_POST
@staff_view(Perm.EVENTS_VIEW)
def events_replay_view(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("event")[:500]
    count = events_replay(event_ids=ids)
    audit_record(
        action="line.events.replayed",
        actor=request.user,
        ip_address=client_ip(request),
        data={"count": count, "ids": ids[:100]},
    )
    messages.success(request, _("%(count)d 件を再処理します。") % {"count": count})
    return redirect("console:events")


# Staff


@staff_view(Perm.STAFF_MANAGE)
def staff(request: HttpRequest) -> HttpResponse:
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        staff_create(
            username=data["username"],
            password=data["password"],
            role=data["role"],
            department=data["department"],
            full_name=data["full_name"],
            actor=request.user,  # type: ignore[arg-type]
        )
        messages.success(request, _("職員 %(name)s を登録しました。") % {"name": data["username"]})
        return redirect("console:staff")
    people = StaffProfile.objects.select_related("user", "department").order_by("user__username")
    return render(request, "console/staff.html", {"page": _page(request, people), "form": form})


@require_POST
@staff_view(Perm.STAFF_MANAGE)
def staff_action(request: HttpRequest, profile_id: int, action: str) -> HttpResponse:
    profile = get_object_or_404(StaffProfile, pk=profile_id)
    if action == "unlock":
        staff_unlock(profile, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("ロックを解除しました。"))
    elif action == "reset-totp":
        totp_reset(profile, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("二要素認証をリセットしました。次回ログイン時に再設定します。"))
    return redirect("console:staff")
