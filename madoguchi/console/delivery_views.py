"""Deliveries in the console: segments (rows builder, live count, sample), the composer with its
phone preview and test send, the list and detail with approval and progress, step deliveries.

Writes go through madoguchi.messaging's services (each audited); counts shown while building a
segment are aggregates only; the sample of names is for staff who may see residents, read
through residents.selectors and logged.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import has_permission, staff_profile
from madoguchi.accounts.roles import Perm
from madoguchi.accounts.services import staff_line_user_set
from madoguchi.channels.base import ChannelError
from madoguchi.console.access import client_ip, staff_view
from madoguchi.console.delivery_content import (
    KINDS,
    content_from_editor,
    content_preview,
    editor_from_content,
    editor_from_post,
)
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.messaging.content import LANGUAGES, ContentError, content_validate, placeholders_used
from madoguchi.messaging.models import (
    Delivery,
    DeliveryBatch,
    DeliveryRun,
    MessageTemplate,
    Segment,
    Step,
    StepSequence,
)
from madoguchi.messaging.segments import (
    DATE_FIELDS,
    FLAG_FIELDS,
    SET_FIELDS,
    SegmentError,
    conditions_describe,
    conditions_validate,
    segment_residents,
)
from madoguchi.messaging.services import (
    DeliveryError,
    delivery_approve,
    delivery_cancel,
    delivery_estimate,
    delivery_return,
    delivery_save,
    delivery_submit,
    delivery_test_send,
    quota_warning,
    run_insight_refresh,
    segment_save,
    template_save,
)
from madoguchi.messaging.step_services import (
    step_delete,
    step_save,
    step_sequence_active_set,
    step_sequence_save,
)
from madoguchi.residents.models import District, Interest, Resident, Tag, reply_language_for
from madoguchi.residents.selectors import visible_residents

ROWS_MIN = 4
ROWS_MAX = 20
MAX_JSON = 20_000
SAMPLE_SIZE = 5
# A {name} placeholder sends each recipient their own request; above this many, staff are warned.
NAME_PLACEHOLDER_WARN = 500


def _send_channel() -> Channel | None:
    """The channel deliveries go out on by default: the first active one that is not counseling."""
    return Channel.objects.filter(is_active=True, is_confidential=False).order_by("pk").first()


# Segments: the rows builder


def _field_options() -> dict[str, list[tuple[str, str]]]:
    return {
        "district": [(d.code, d.name) for d in District.objects.all()],
        "age_band": [(str(v), str(label)) for v, label in Resident.AgeBand.choices],
        "audience": [(str(v), str(label)) for v, label in Resident.Audience.choices],
        "interest": [(i.code, i.name) for i in Interest.objects.all()],
        "tag": [(t.name, t.name) for t in Tag.objects.all()[:200]],
        "language": list(LANGUAGES.items()),
    }


def _all_fields() -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in {**SET_FIELDS, **FLAG_FIELDS, **DATE_FIELDS}.items()]


def _rows_from_tree(tree: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """The builder's rows for a tree of one level (each row a condition or its negation), or None
    when the tree needs the JSON editor."""
    if not tree:
        return "all", []
    if "field" in tree or "not" in tree:
        tree = {"all": [tree]}
    match = "all" if "all" in tree else "any" if "any" in tree else ""
    if not match or not isinstance(tree[match], list):
        return None
    rows = []
    for item in tree[match]:
        negated = isinstance(item, dict) and "not" in item
        leaf = item["not"] if negated else item
        if not isinstance(leaf, dict) or "field" not in leaf:
            return None
        rows.append(
            {
                "field": leaf["field"],
                "negated": negated,
                "values": list(leaf.get("in", [])),
                "is": leaf.get("is"),
                "after": leaf.get("after", ""),
                "before": leaf.get("before", ""),
            }
        )
    return match, rows


def _rows_from_post(post: QueryDict) -> list[dict[str, Any]]:
    rows = []
    for n in range(ROWS_MAX):
        name = post.get(f"row-{n}-field", "")
        if not name:
            continue
        rows.append(
            {
                "field": name,
                "negated": post.get(f"row-{n}-neg") == "1",
                "values": post.getlist(f"row-{n}-{name}")[:200],
                "is": {"yes": True, "no": False}.get(post.get(f"row-{n}-is", "")),
                "after": post.get(f"row-{n}-after", ""),
                "before": post.get(f"row-{n}-before", ""),
            }
        )
    return rows


def _tree_from_rows(match: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    items = []
    for row in rows:
        name = row["field"]
        leaf: dict[str, Any] = {"field": name}
        if name in FLAG_FIELDS:
            leaf["is"] = row["is"]
        elif name in DATE_FIELDS:
            leaf.update({key: row[key] for key in ("after", "before") if row[key]})
        else:
            leaf["in"] = row["values"]
        items.append({"not": leaf} if row["negated"] else leaf)
    return {"any" if match == "any" else "all": items}


def _tree_from_post(post: QueryDict) -> dict[str, Any]:
    """The conditions the segment form describes; raises SegmentError saying what is wrong."""
    if post.get("mode") == "json":
        source = post.get("conditions_json", "")
        if len(source) > MAX_JSON:
            raise SegmentError(_("条件の JSON が長すぎます。"))
        try:
            tree = json.loads(source or "{}")
        except ValueError:
            raise SegmentError(_("条件の JSON を読めません。書き方を確かめてください。")) from None
    else:
        tree = _tree_from_rows(post.get("match", "all"), _rows_from_post(post))
    return conditions_validate(tree)


def _segment_context(
    request: HttpRequest, segment: Segment | None, tree: dict[str, Any], *, post: QueryDict | None = None
) -> dict[str, Any]:
    if post is not None:
        match = post.get("match", "all")
        rows = _rows_from_post(post)
        mode = "json" if post.get("mode") == "json" else "rows"
        source = post.get("conditions_json", "")
    else:
        shaped = _rows_from_tree(tree)
        match, rows = shaped if shaped is not None else ("all", [])
        mode = "rows" if shaped is not None else "json"
        source = json.dumps(tree, ensure_ascii=False, indent=2)
    blank = {"field": "", "negated": False, "values": [], "is": None, "after": "", "before": ""}
    # Every row the form takes is on the page; those past the first blank one wait hidden until
    # 条件を追加 shows them (without JavaScript, saving adds a blank row).
    shown = max(ROWS_MIN, len(rows) + 1)
    rows = [*rows, *(dict(blank) for _ in range(ROWS_MAX - len(rows)))][:ROWS_MAX]
    for n, row in enumerate(rows):
        row["hidden"] = n >= shown
    return {
        "segment": segment,
        "match": match,
        "rows": rows,
        "mode": mode,
        "conditions_json": source,
        "fields": _all_fields(),
        "set_fields": list(SET_FIELDS),
        "flag_fields": list(FLAG_FIELDS),
        "date_fields": list(DATE_FIELDS),
        "options": _field_options(),
        "can_sample": has_permission(request.user, Perm.RESIDENTS_VIEW),
    }


@staff_view(Perm.SEGMENTS_MANAGE)
def segments(request: HttpRequest) -> HttpResponse:
    channel = _send_channel()
    rows = []
    for segment in Segment.objects.all():
        count = segment_residents(channel, segment.conditions).count() if channel else 0
        rows.append({"segment": segment, "reads": conditions_describe(segment.conditions), "count": count})
    return render(request, "console/deliveries/segments.html", {"rows": rows})


@staff_view(Perm.SEGMENTS_MANAGE)
def segment_edit(request: HttpRequest, segment_id: int | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id) if segment_id else None
    if request.method == "POST":
        try:
            tree = _tree_from_post(request.POST)
            saved = segment_save(
                actor=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                conditions=tree,
                segment=segment,
            )
        except (SegmentError, DeliveryError) as exc:
            context = _segment_context(request, segment, {}, post=request.POST)
            context.update(
                {
                    "error": str(exc),
                    "name": request.POST.get("name", ""),
                    "description": request.POST.get("description", ""),
                }
            )
            return render(request, "console/deliveries/segment_edit.html", context, status=400)
        messages.success(request, _("セグメント「%(name)s」を保存しました。") % {"name": saved.name})
        return redirect("console:segments")
    context = _segment_context(request, segment, segment.conditions if segment else {})
    context.update(
        {"name": segment.name if segment else "", "description": segment.description if segment else ""}
    )
    return render(request, "console/deliveries/segment_edit.html", context)


@require_POST
@staff_view(Perm.SEGMENTS_MANAGE)
def segment_count(request: HttpRequest) -> JsonResponse:
    """How many residents the conditions being edited reach, by district and by language:
    aggregate figures only (polled by the editor as conditions change)."""
    channel = _send_channel()
    try:
        tree = _tree_from_post(request.POST)
    except SegmentError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if channel is None:
        return JsonResponse(
            {"count": 0, "description": conditions_describe(tree), "districts": [], "languages": []}
        )
    residents = segment_residents(channel, tree)
    districts = [
        {"label": row["district__name"] or _("（地区の登録なし）"), "count": row["n"]}
        for row in residents.values("district__name").annotate(n=Count("id")).order_by("-n", "district__name")
    ]
    languages: Counter[str] = Counter()
    for row in residents.values("language").annotate(n=Count("id")):
        code = reply_language_for(row["language"])
        languages[LANGUAGES.get(code, code)] += row["n"]
    return JsonResponse(
        {
            "count": sum(row["count"] for row in districts),
            "description": conditions_describe(tree),
            "districts": districts,
            "languages": [{"label": label, "count": n} for label, n in languages.most_common()],
        }
    )


@require_POST
@staff_view(Perm.SEGMENTS_MANAGE)
@staff_view(Perm.RESIDENTS_VIEW)
def segment_sample(request: HttpRequest) -> JsonResponse:
    """Five residents the conditions reach, by display name: for staff who may see residents."""
    channel = _send_channel()
    try:
        tree = _tree_from_post(request.POST)
    except SegmentError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if channel is None:
        return JsonResponse({"names": []})
    reached = segment_residents(channel, tree).values("pk")
    sample = list(visible_residents(request.user).filter(pk__in=reached).order_by("?")[:SAMPLE_SIZE])
    audit_record(
        action="residents.resident.listed",
        actor=request.user,
        object_type="residents.Resident",
        ip_address=client_ip(request),
        data={"segment_sample": [r.pk for r in sample]},
    )
    return JsonResponse({"names": [str(r) for r in sample]})


# The composer


class DeliveryForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("件名（職員用）"), max_length=200)
    channel = forms.ModelChoiceField(
        label=gettext_lazy("LINE アカウント"),
        queryset=Channel.objects.filter(is_active=True, is_confidential=False),
        empty_label=None,
    )
    target = forms.ChoiceField(
        label=gettext_lazy("配信先"), choices=Delivery.Target.choices, widget=forms.RadioSelect
    )
    segment = forms.ModelChoiceField(
        label=gettext_lazy("配信するセグメント"), queryset=Segment.objects.all(), required=False
    )
    topic = forms.ModelChoiceField(
        label=gettext_lazy("話題（関心分野）"),
        queryset=Interest.objects.all(),
        required=False,
        empty_label=gettext_lazy("（指定しない）"),
        help_text=gettext_lazy("選ぶと、この関心分野を登録した方にだけ届きます（緊急配信を除く）。"),
    )
    is_emergency = forms.BooleanField(
        label=gettext_lazy(
            "緊急配信（関心分野に関係なく届け、他の配信より先に送ります。作成者以外の承認が必要です）"
        ),
        required=False,
    )
    when = forms.ChoiceField(
        label=gettext_lazy("配信日時"),
        choices=[("now", gettext_lazy("承認されたらすぐ")), ("at", gettext_lazy("日時を指定"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("日時"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    recurrence = forms.ChoiceField(
        label=gettext_lazy("繰り返し"), choices=Delivery.Recurrence.choices, required=False
    )
    recurrence_until = forms.DateField(
        label=gettext_lazy("繰り返しの終了日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") == "at" and not data.get("scheduled_at"):
            self.add_error("scheduled_at", _("配信日時を入れてください。"))
        if data.get("target") == Delivery.Target.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("配信先のセグメントを選んでください。"))
        return data


def _draft(form: DeliveryForm, content: dict[str, Any], user: Any) -> Delivery:
    """An unsaved delivery as the form describes it, for the estimate and the quota warning."""
    data = form.cleaned_data
    return Delivery(
        channel=data["channel"],
        title=data.get("title", ""),
        target=data["target"],
        segment=data.get("segment") if data["target"] == Delivery.Target.SEGMENT else None,
        topic=data.get("topic"),
        is_emergency=data.get("is_emergency", False),
        content=content,
        created_by=user,
    )


def _reach(delivery: Delivery) -> dict[str, Any]:
    """The estimated recipients and the warnings that go with them."""
    try:
        estimate = delivery_estimate(delivery)
    except SegmentError:
        return {"estimate": None, "quota_warning": "", "name_warning": ""}
    name_warning = ""
    if "name" in placeholders_used(delivery.content) and estimate > NAME_PLACEHOLDER_WARN:
        name_warning = _(
            "{name} を使うと、お名前を入れるため 1 人に 1 回ずつ送ります（約 %(count)s 回）。"
            "時間がかかるので、多くの方に送るときは {name} を外すことを考えてください。"
        ) % {"count": f"{estimate:,}"}
    return {
        "estimate": estimate,
        "quota_warning": quota_warning(delivery, estimate),
        "name_warning": name_warning,
    }


def _composer_context(form: DeliveryForm, editor: Any, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "editor": editor,
        "kinds": list(KINDS.items()),
        "templates": MessageTemplate.objects.all(),
        "button_slots": range(4),
        **extra,
    }


@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_edit(request: HttpRequest, delivery_id: int | None = None) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id) if delivery_id else None
    if delivery is not None and not delivery.editable:
        messages.error(request, _("承認された配信は変更できません。中止してから作り直してください。"))
        return redirect("console:delivery", delivery_id=delivery.pk)
    if request.method != "POST":
        if delivery is not None:
            initial: dict[str, Any] = {
                "title": delivery.title,
                "channel": delivery.channel_id,
                "target": delivery.target,
                "segment": delivery.segment_id,
                "topic": delivery.topic_id,
                "is_emergency": delivery.is_emergency,
                "when": "at" if delivery.scheduled_at else "now",
                "scheduled_at": delivery.scheduled_at,
                "recurrence": delivery.recurrence,
                "recurrence_until": delivery.recurrence_until,
            }
            saved_content = delivery.content
        else:
            channel = _send_channel()
            initial = {
                "target": Delivery.Target.SEGMENT,
                "when": "now",
                "channel": channel.pk if channel else None,
            }
            template = (
                MessageTemplate.objects.filter(pk=request.GET.get("template") or 0).first()
                if (request.GET.get("template", "").isdigit())
                else None
            )
            saved_content = template.content if template else {}
        form = DeliveryForm(initial=initial)
        return render(
            request,
            "console/deliveries/compose.html",
            _composer_context(form, editor_from_content(saved_content), delivery=delivery),
        )
    form = DeliveryForm(request.POST)
    editor = editor_from_post(request.POST)
    action = request.POST.get("do", "save")
    errors: list[str] = []
    content: dict[str, Any] = {}
    try:
        content = content_validate(content_from_editor(editor, request.POST))
    except ContentError as exc:
        errors.append(str(exc))
    if action == "template":
        if not errors:
            try:
                saved = template_save(
                    actor=request.user,  # type: ignore[arg-type]
                    name=request.POST.get("template_name", ""),
                    content=content,
                )
                messages.success(
                    request, _("テンプレート「%(name)s」を保存しました。") % {"name": saved.name}
                )
            except DeliveryError as exc:
                errors.append(str(exc))
        return render(
            request,
            "console/deliveries/compose.html",
            _composer_context(form, editor, delivery=delivery, errors=errors),
            status=400 if errors else 200,
        )
    if not form.is_valid() or errors:
        return render(
            request,
            "console/deliveries/compose.html",
            _composer_context(form, editor, delivery=delivery, errors=errors),
            status=400,
        )
    data = form.cleaned_data
    if action == "preview":
        draft = _draft(form, content, request.user)
        return render(
            request,
            "console/deliveries/compose.html",
            _composer_context(
                form, editor, delivery=delivery, preview=content_preview(content), **_reach(draft)
            ),
        )
    try:
        saved_delivery = delivery_save(
            actor=request.user,  # type: ignore[arg-type]
            channel=data["channel"],
            title=data["title"],
            content=content,
            target=data["target"],
            segment=data.get("segment"),
            topic=data.get("topic"),
            is_emergency=data.get("is_emergency", False),
            scheduled_at=data.get("scheduled_at") if data["when"] == "at" else None,
            recurrence=data.get("recurrence") or "",
            recurrence_until=data.get("recurrence_until"),
            delivery=delivery,
        )
    except (DeliveryError, ContentError, SegmentError) as exc:
        return render(
            request,
            "console/deliveries/compose.html",
            _composer_context(form, editor, delivery=delivery, errors=[str(exc)]),
            status=400,
        )
    messages.success(request, _("下書きを保存しました。承認に回すまで送られません。"))
    return redirect("console:delivery", delivery_id=saved_delivery.pk)


# List and detail

STATUS_TABS = [
    (Delivery.Status.DRAFT, gettext_lazy("下書き")),
    (Delivery.Status.PENDING_APPROVAL, gettext_lazy("承認待ち")),
    (Delivery.Status.APPROVED, gettext_lazy("予約済み")),
    (Delivery.Status.SENDING, gettext_lazy("配信中")),
    (Delivery.Status.DONE, gettext_lazy("完了")),
    (Delivery.Status.CANCELLED, gettext_lazy("中止")),
]


@staff_view(Perm.DELIVERIES_COMPOSE)
def deliveries(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    listed = Delivery.objects.select_related("segment", "created_by", "approved_by").order_by(
        "-is_emergency", "-updated_at"
    )
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    if status in Delivery.Status.values:
        listed = listed.filter(status=status)
    tabs = [{"status": s, "label": label, "count": counts.get(s, 0)} for s, label in STATUS_TABS]
    return render(
        request,
        "console/deliveries/list.html",
        {"deliveries": listed[:200], "tabs": tabs, "status": status, "labels": dict(STATUS_TABS)},
    )


def _progress(run: DeliveryRun | None) -> dict[str, Any]:
    if run is None:
        return {"run": None}
    done = DeliveryBatch.objects.filter(run=run, state=DeliveryBatch.State.SENT).aggregate(
        n=Sum("size", default=0)
    )["n"]
    recipients = run.recipients
    finished = run.status in (DeliveryRun.Status.DONE, DeliveryRun.Status.CANCELLED)
    return {
        "run": run.number,
        "run_status": run.get_status_display(),
        "finished": finished,
        "sent": done,
        "recipients": recipients,
        "percent": 100
        if finished and not recipients
        else (round(100 * done / recipients) if recipients else 0),
    }


def _target_reads(delivery: Delivery) -> str:
    if delivery.target == Delivery.Target.ALL:
        return _("友だち全員")
    if delivery.segment is None:
        return "—"
    return f"{delivery.segment.name}: {conditions_describe(delivery.segment.conditions)}"


@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(
        Delivery.objects.select_related(
            "channel", "segment", "topic", "created_by", "approved_by", "cancelled_by"
        ),
        pk=delivery_id,
    )
    runs = list(delivery.runs.order_by("-number"))
    current = next(
        (r for r in runs if r.status in (DeliveryRun.Status.PREPARING, DeliveryRun.Status.SENDING)), None
    )
    profile = staff_profile(request.user)
    reach: dict[str, Any] = {}
    if delivery.status in (Delivery.Status.DRAFT, Delivery.Status.PENDING_APPROVAL, Delivery.Status.APPROVED):
        reach = _reach(delivery)
    return render(
        request,
        "console/deliveries/detail.html",
        {
            "delivery": delivery,
            "target_reads": _target_reads(delivery),
            "preview": content_preview(delivery.content),
            "runs": runs,
            "current": current,
            "progress": _progress(current or (runs[0] if runs else None)),
            "is_author": delivery.created_by_id == request.user.pk,
            "can_approve": has_permission(request.user, Perm.DELIVERIES_APPROVE),
            "line_user_id": profile.line_user_id if profile else "",
            "test_languages": [(code, LANGUAGES[code]) for code in delivery.content if code in LANGUAGES],
            **reach,
        },
    )


@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_progress(request: HttpRequest, delivery_id: int) -> JsonResponse:
    """The sending run's progress, polled by the detail page."""
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    run = delivery.runs.order_by("-number").first()
    return JsonResponse({"status": delivery.get_status_display(), **_progress(run)})


@require_POST
@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_submit_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    if delivery.created_by_id != request.user.pk:
        messages.error(request, _("承認に回せるのは作成した職員だけです。"))
    else:
        try:
            delivery_submit(delivery, actor=request.user)
            messages.success(request, _("承認に回しました。承認されるまで送られません。"))
        except DeliveryError as exc:
            messages.error(request, str(exc))
    return redirect("console:delivery", delivery_id=delivery.pk)


@require_POST
@staff_view(Perm.DELIVERIES_APPROVE)
def delivery_decide(request: HttpRequest, delivery_id: int, action: str) -> HttpResponse:
    """承認する / 差し戻す / 中止: the approver's decisions (the service checks the state and, for
    an emergency, that the approver is not its author)."""
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    try:
        if action == "approve":
            delivery = delivery_approve(delivery, actor=request.user)  # type: ignore[arg-type]
            messages.success(
                request,
                _("承認しました。配信を始めました。")
                if delivery.next_run_at is None or delivery.status == Delivery.Status.SENDING
                else _("承認しました。指定の日時に配信します。"),
            )
        elif action == "return":
            reason = request.POST.get("reason", "").strip()
            if not reason:
                messages.error(request, _("差し戻す理由を書いてください。"))
                return redirect("console:delivery", delivery_id=delivery.pk)
            delivery_return(delivery, actor=request.user, reason=reason)  # type: ignore[arg-type]
            messages.success(request, _("作成者に差し戻しました。"))
        elif action == "cancel":
            if request.POST.get("confirm") != "1":
                messages.error(request, _("中止するには、確認のチェックを入れてください。"))
                return redirect("console:delivery", delivery_id=delivery.pk)
            delivery_cancel(delivery, actor=request.user)  # type: ignore[arg-type]
            messages.success(request, _("配信を中止しました。"))
        else:
            return render(request, "console/not_found.html", status=404)
    except DeliveryError as exc:
        messages.error(request, str(exc))
    return redirect("console:delivery", delivery_id=delivery.pk)


@require_POST
@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_test(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Send it to the staff member's own LINE account, in one language."""
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    profile = staff_profile(request.user)
    language = request.POST.get("language", "ja")
    try:
        delivery_test_send(
            delivery,
            actor=request.user,  # type: ignore[arg-type]
            line_user_id=profile.line_user_id if profile else "",
            language=language if language in LANGUAGES else "ja",
        )
        messages.success(request, _("自分の LINE にテスト送信しました。"))
    except DeliveryError as exc:
        messages.error(request, str(exc))
    except ChannelError:
        messages.error(request, _("テスト送信できませんでした（LINE に届きませんでした）。"))
    return redirect("console:delivery", delivery_id=delivery.pk)


@require_POST
@staff_view(Perm.DELIVERIES_COMPOSE)
def delivery_insight(request: HttpRequest, delivery_id: int, run_number: int) -> HttpResponse:
    run = get_object_or_404(
        DeliveryRun.objects.select_related("delivery__channel"), delivery_id=delivery_id, number=run_number
    )
    try:
        run_insight_refresh(run)
        messages.success(request, _("開封数とクリック数を LINE から取得しました。"))
    except ChannelError:
        messages.error(
            request, _("LINE から数値を取得できませんでした。しばらくしてからもう一度お試しください。")
        )
    return redirect("console:delivery", delivery_id=delivery_id)


# The staff member's own settings


@staff_view(Perm.DASHBOARD_VIEW)
def my_settings(request: HttpRequest) -> HttpResponse:
    profile = staff_profile(request.user)
    assert profile is not None  # staff_view let only staff in
    error = ""
    if request.method == "POST":
        try:
            staff_line_user_set(profile, line_user_id=request.POST.get("line_user_id", ""))
            messages.success(request, _("保存しました。"))
            return redirect("console:my_settings")
        except ValueError:
            error = _("LINE ユーザー ID は英数字 64 文字までです。")
    return render(request, "console/deliveries/my_settings.html", {"profile": profile, "error": error})


# Step deliveries


class SequenceForm(forms.ModelForm):
    class Meta:
        model = StepSequence
        fields = ["name", "channel", "trigger", "segment"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True, is_confidential=False)  # type: ignore[attr-defined]
        self.fields["channel"].empty_label = None  # type: ignore[attr-defined]


class StepForm(forms.Form):
    months = forms.IntegerField(label=gettext_lazy("月数"), min_value=0, max_value=240, initial=0)
    days = forms.IntegerField(label=gettext_lazy("日数"), min_value=0, max_value=3650, initial=0)
    send_time = forms.TimeField(
        label=gettext_lazy("送信時刻"),
        initial="10:00",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


@staff_view(Perm.DELIVERIES_COMPOSE)
def step_sequences(request: HttpRequest) -> HttpResponse:
    listed = (
        StepSequence.objects.select_related("segment").annotate(step_count=Count("steps")).order_by("name")
    )
    return render(request, "console/deliveries/steps.html", {"sequences": listed})


@staff_view(Perm.DELIVERIES_COMPOSE)
def step_sequence_edit(request: HttpRequest, sequence_id: int | None = None) -> HttpResponse:
    sequence = get_object_or_404(StepSequence, pk=sequence_id) if sequence_id else None
    form = SequenceForm(
        request.POST or None, instance=sequence, initial={"channel": getattr(_send_channel(), "pk", None)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = step_sequence_save(
            actor=request.user,  # type: ignore[arg-type]
            name=data["name"],
            channel=data["channel"],
            trigger=data["trigger"],
            segment=data.get("segment"),
            sequence=sequence,
        )
        messages.success(request, _("保存しました。"))
        return redirect("console:step_sequence", sequence_id=saved.pk)
    steps = list(sequence.steps.all()) if sequence else []
    for step in steps:
        ja = (step.content.get("ja") or {}).get("messages") or []
        step.summary = [  # type: ignore[attr-defined]
            str(m.get("text") or m.get("alt_text") or KINDS.get(m.get("type", ""), "")) for m in ja
        ]
    return render(
        request,
        "console/deliveries/step_sequence.html",
        {"sequence": sequence, "form": form, "steps": steps},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_view(Perm.DELIVERIES_COMPOSE)
def step_sequence_toggle(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = get_object_or_404(StepSequence, pk=sequence_id)
    step_sequence_active_set(sequence, active=not sequence.is_active, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("有効にしました。") if sequence.is_active else _("無効にしました。"))
    return redirect("console:step_sequence", sequence_id=sequence.pk)


@staff_view(Perm.DELIVERIES_COMPOSE)
def step_edit(request: HttpRequest, sequence_id: int, step_id: int | None = None) -> HttpResponse:
    sequence = get_object_or_404(StepSequence, pk=sequence_id)
    step = get_object_or_404(Step, pk=step_id, sequence=sequence) if step_id else None
    back = redirect("console:step_sequence", sequence_id=sequence.pk)
    if request.method == "POST" and request.POST.get("do") == "delete" and step is not None:
        step_delete(step, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("ステップを削除しました。"))
        return back
    if request.method == "POST":
        form = StepForm(request.POST)
        editor = editor_from_post(request.POST)
        errors: list[str] = []
        try:
            content = content_validate(content_from_editor(editor, request.POST))
        except ContentError as exc:
            errors.append(str(exc))
        if form.is_valid() and not errors:
            step_save(
                sequence,
                actor=request.user,  # type: ignore[arg-type]
                months=form.cleaned_data["months"],
                days=form.cleaned_data["days"],
                send_time=form.cleaned_data["send_time"],
                content=content,
                step=step,
            )
            messages.success(request, _("ステップを保存しました。"))
            return back
        status = 400
    else:
        initial = {"months": step.months, "days": step.days, "send_time": step.send_time} if step else {}
        form = StepForm(initial=initial)
        editor = editor_from_content(step.content if step else {})
        errors, status = [], 200
    return render(
        request,
        "console/deliveries/step_edit.html",
        {
            "sequence": sequence,
            "step": step,
            "form": form,
            "editor": editor,
            "kinds": list(KINDS.items()),
            "button_slots": range(4),
            "errors": errors,
            "back_url": reverse("console:step_sequence", kwargs={"sequence_id": sequence.pk}),
        },
        status=status,
    )
