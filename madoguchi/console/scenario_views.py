"""Scenarios in the console: the list, the editors for drafts (forms, step by step, and YAML for
the advanced), publishing, history with roll back, import/export, and a preview of a draft on a
test phone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.access import scope_to_department, staff_profile
from madoguchi.accounts.roles import Perm
from madoguchi.channels.base import ChannelError
from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.chatbot.registry import has_postback_action
from madoguchi.console import scenario_form
from madoguchi.console.access import client_ip, staff_view
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.faq.models import FaqEntry
from madoguchi.scenarios.definition import (
    ATTRIBUTE_VALUES,
    FROM_ATTR_CHOICES,
    FROM_ATTR_DATES,
    LANGUAGE_CODES,
    MAX_YAML_BYTES,
    DefinitionInvalid,
    Problem,
    definition_load,
    definition_validate,
)
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.services import (
    VersionStateError,
    preview_user_id,
    scenario_active_set,
    scenario_draft_save,
    scenario_export,
    scenario_import,
    scenario_preview,
    scenario_publish,
    scenario_rollback,
)

STARTER = """slug: new-scenario
title: 新しいシナリオ
triggers: []
steps:
  - id: start
    kind: message
    text: 知りたいことを選んでください。
    choices:
      - label: はい
        next: thanks
      - label: 職員と話す
        handoff: true
  - id: thanks
    kind: end
    text: ありがとうございました。
"""


class SourceForm(forms.Form):
    source = forms.CharField(
        label=gettext_lazy("シナリオ (YAML または JSON)"),
        widget=forms.Textarea(attrs={"rows": 30, "class": "code", "spellcheck": "false"}),
        max_length=MAX_YAML_BYTES,
        strip=False,
    )

    def clean_source(self) -> str:
        source: str = self.cleaned_data["source"].replace("\r\n", "\n")
        try:
            self.definition = definition_load(source)
        except DefinitionInvalid as exc:
            raise forms.ValidationError(exc.errors) from None
        return source


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("YAML ファイル"))
    publish = forms.BooleanField(label=gettext_lazy("すぐに公開する"), required=False)


def _visible(request: HttpRequest) -> Any:
    return scope_to_department(Scenario.objects.all(), request.user)


def _department(request: HttpRequest) -> Any:
    profile = staff_profile(request.user)
    return profile.department if profile is not None else None


def _slug_taken_elsewhere(request: HttpRequest, slug: str, scenario: Scenario | None = None) -> str:
    """Why this definition may not be saved by this person, or ""."""
    if scenario is not None and slug != scenario.slug:
        return _("slug は変更できません (「%(slug)s」のままにしてください)。") % {"slug": scenario.slug}
    other = Scenario.objects.filter(slug=slug).first()
    if other is not None and not _visible(request).filter(pk=other.pk).exists():
        return _("slug「%(slug)s」は別の課のシナリオで使われています。") % {"slug": slug}
    return ""


@staff_view(Perm.SCENARIOS_MANAGE)
def scenarios(request: HttpRequest) -> HttpResponse:
    listed = (
        _visible(request).select_related("department").prefetch_related("versions").order_by("title", "id")
    )
    rows = []
    for scenario in listed:
        versions = {
            v.status: v for v in scenario.versions.all() if v.status != ScenarioVersion.Status.ARCHIVED
        }
        rows.append(
            {
                "scenario": scenario,
                "published": versions.get(ScenarioVersion.Status.PUBLISHED),
                "draft": versions.get(ScenarioVersion.Status.DRAFT),
            }
        )
    return render(request, "console/scenarios.html", {"rows": rows, "import_form": ImportForm()})


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_new_yaml(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.POST or None, initial={"source": STARTER})
    if request.method == "POST" and form.is_valid():
        slug = form.definition["slug"]
        problem = _slug_taken_elsewhere(request, slug)
        if not problem and Scenario.objects.filter(slug=slug).exists():
            problem = _("slug「%(slug)s」はすでに使われています。") % {"slug": slug}
        if problem:
            form.add_error("source", problem)
        else:
            draft = scenario_draft_save(
                form.definition,
                source=form.cleaned_data["source"],
                actor=request.user,  # type: ignore[arg-type]
                department=_department(request),
                ip_address=client_ip(request),
                editor="yaml",
            )
            messages.success(request, _("下書きを保存しました。"))
            return redirect("console:scenario", scenario_id=draft.scenario_id)
    return render(request, "console/scenario_edit.html", {"form": form, "scenario": None})


def _shown_version(scenario: Scenario) -> ScenarioVersion | None:
    return scenario.draft or scenario.published or scenario.versions.first()


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_detail(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    versions = list(scenario.versions.select_related("created_by").order_by("-number"))
    shown = next((v for v in versions if v.status == ScenarioVersion.Status.DRAFT), None) or next(
        (v for v in versions if v.status == ScenarioVersion.Status.PUBLISHED), None
    )
    own_phone = preview_user_id(request.user.get_username())
    phone_url = (
        f"{settings.LINE_API_HOST.rstrip('/')}/phone?user={own_phone}"
        if "api.line.me" not in settings.LINE_API_HOST
        else ""
    )
    return render(
        request,
        "console/scenario_detail.html",
        {
            "scenario": scenario,
            "versions": versions,
            "shown": shown,
            "steps": shown.definition["steps"] if shown else [],
            "preview_targets": _preview_targets(request),
            "phone_url": phone_url,
        },
    )


def _preview_targets(request: HttpRequest) -> list[tuple[str, str]]:
    own = preview_user_id(request.user.get_username())
    return [
        (own, _("自分のテスト用の電話 (linesim)")),
        *((uid, uid) for uid in settings.MADOGUCHI_PREVIEW_LINE_USER_IDS),
    ]


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_edit_yaml(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    base = _shown_version(scenario)
    initial = {"source": scenario_export(base) if base else STARTER}
    form = SourceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        problem = _slug_taken_elsewhere(request, form.definition["slug"], scenario)
        if problem:
            form.add_error("source", problem)
        else:
            scenario_draft_save(
                form.definition,
                source=form.cleaned_data["source"],
                actor=request.user,  # type: ignore[arg-type]
                ip_address=client_ip(request),
                editor="yaml",
            )
            messages.success(request, _("下書きを保存しました。公開するまで住民には届きません。"))
            return redirect("console:scenario", scenario_id=scenario.pk)
    return render(request, "console/scenario_edit.html", {"form": form, "scenario": scenario})


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_new(request: HttpRequest) -> HttpResponse:
    """A new scenario, built with the forms."""
    return _form_editor(request, None)


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_edit(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """The draft (or, to start one, the published version), step by step in forms."""
    return _form_editor(request, get_object_or_404(_visible(request), pk=scenario_id))


def _form_editor(request: HttpRequest, scenario: Scenario | None) -> HttpResponse:
    """GET: the form. POST with `op`: save (check, then save the draft), check (show every
    problem, save nothing), or a button's change (add, delete, move …; save nothing)."""
    base = _shown_version(scenario) if scenario is not None else None
    problems: list[Problem] = []
    anchor = ""
    checked = False
    if request.method == "POST":
        state = scenario_form.editor_from_post(request.POST)
        if scenario is not None:
            state["slug"] = scenario.slug  # shown, not editable: jumps and files name it
        op = str(request.POST.get("op", ""))
        if op in ("save", "check"):
            definition, problems = scenario_form.definition_from_editor(state)
            try:
                definition = definition_validate(definition)
            except DefinitionInvalid as exc:
                problems += exc.located
            if not problems:
                problem = _slug_taken_elsewhere(request, definition["slug"], scenario)
                if (
                    not problem
                    and scenario is None
                    and Scenario.objects.filter(slug=definition["slug"]).exists()
                ):
                    problem = _("slug「%(slug)s」はすでに使われています。") % {"slug": definition["slug"]}
                if problem:
                    problems.append(Problem(None, "slug", problem))
            if not problems and op == "save":
                draft = scenario_draft_save(
                    definition,
                    actor=request.user,  # type: ignore[arg-type]
                    department=_department(request) if scenario is None else None,
                    ip_address=client_ip(request),
                    editor="form",
                )
                messages.success(request, _("下書きを保存しました。公開するまで住民には届きません。"))
                return redirect("console:scenario", scenario_id=draft.scenario_id)
            checked = not problems
        else:
            anchor = scenario_form.editor_apply(state, op, add_kind=str(request.POST.get("add_kind", "")))
    elif base is not None:
        state = scenario_form.editor_from_definition(base.definition)
    else:
        state = scenario_form.editor_new()
    general = scenario_form.problems_place(state, problems)
    context = {
        "scenario": scenario,
        "base": base,
        "state": state,
        "general_errors": general,
        "checked": checked,
        "anchor": anchor,
        "comments_lost": bool(
            base and any(line.lstrip().startswith("#") for line in base.source.splitlines())
        ),
        **_form_choices(state),
    }
    return render(request, "console/scenario_form.html", context, status=400 if problems else 200)


def _form_choices(state: dict[str, Any]) -> dict[str, Any]:
    """What the form's menus offer: steps, recorded answers, FAQ entries, published scenarios,
    chatbot actions, resident attributes."""
    scenario_form.editor_decorate(state)
    steps = state["steps"]
    variables = []
    for step in steps:
        if step["kind"] in ("ask", "message") and step["var"]:
            variables.append(step["var"])
            if step["kind"] == "ask" and step["capture"] == "date":
                variables.append(f"{step['var']}_age")
    wanted_faq = {
        holder["target"]["value"]
        for step in steps
        for holder in (step, *step["choices"])
        if holder["target"]["to"] == "faq"
    }
    faq = (
        list(
            FaqEntry.objects.filter(is_active=True)
            .order_by("external_id")
            .values_list("external_id", "question")
        )
        if wanted_faq  # the entries' menu is shown only where a step jumps to one
        else []
    )
    flows = list(
        ScenarioVersion.objects.filter(status=ScenarioVersion.Status.PUBLISHED, scenario__is_active=True)
        .order_by("scenario__slug")
        .values_list("scenario__slug", "scenario__title")
    )
    return {
        "step_choices": [(step["id"], step["summary"]) for step in steps if step["id"]],
        "step_ids": [step["id"] for step in steps],
        "variables": list(dict.fromkeys(variables)),
        "faq_entries": [(code, f"{code} {question[:40]}") for code, question in faq],
        "faq_ids": [code for code, _question in faq],
        "flows": [(slug, f"{title} ({slug})") for slug, title in flows],
        "flow_slugs": [slug for slug, _title in flows],
        "actions": [(key, label) for key, label in scenario_form.ACTIONS if has_postback_action(key)],
        "action_keys": [key for key, _label in scenario_form.ACTIONS if has_postback_action(key)],
        "kinds": list(scenario_form.KIND_LABELS.items()),
        "add_kinds": scenario_form.ADD_KINDS,
        "captures": list(scenario_form.CAPTURE_LABELS.items()),
        "styles": scenario_form.STYLE_LABELS,
        "integers": scenario_form.INTEGER_LABELS,
        "targets": list(scenario_form.TARGET_LABELS.items()),
        "operators": list(scenario_form.OPERATOR_LABELS.items()),
        "attributes": list(scenario_form.ATTRIBUTE_LABELS.items()),
        "from_attr_choices": [(k, scenario_form.FROM_ATTR_LABELS[k]) for k in FROM_ATTR_CHOICES],
        "from_attr_dates": [(k, scenario_form.FROM_ATTR_LABELS[k]) for k in FROM_ATTR_DATES],
        "attribute_values": {**ATTRIBUTE_VALUES, "language": LANGUAGE_CODES},
        "text_languages": LANGUAGES,
        "language_labels": dict(LANGUAGES),
    }


@require_POST
@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_publish_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    draft = scenario.draft
    if draft is None:
        messages.error(request, _("公開する下書きがありません。"))
        return redirect("console:scenario", scenario_id=scenario.pk)
    try:
        scenario_publish(draft, actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    except DefinitionInvalid as exc:
        for line in exc.errors[:20]:
            messages.error(request, line)
        return redirect("console:scenario", scenario_id=scenario.pk)
    except VersionStateError:
        messages.error(request, _("この版はすでに公開されています。"))
        return redirect("console:scenario", scenario_id=scenario.pk)
    messages.success(request, _("第 %(number)d 版を公開しました。") % {"number": draft.number})
    return redirect("console:scenario", scenario_id=scenario.pk)


@require_POST
@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_rollback_view(request: HttpRequest, scenario_id: int, number: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    version = get_object_or_404(scenario.versions, number=number)
    try:
        restored = scenario_rollback(version, actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    except (VersionStateError, DefinitionInvalid):
        messages.error(request, _("この版には戻せません (公開されたことのある以前の版だけ戻せます)。"))
        return redirect("console:scenario", scenario_id=scenario.pk)
    messages.success(
        request,
        _("第 %(old)d 版の内容を第 %(number)d 版として公開しました。")
        % {"old": version.number, "number": restored.number},
    )
    return redirect("console:scenario", scenario_id=scenario.pk)


@require_POST
@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_toggle(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    scenario_active_set(scenario, not scenario.is_active, actor=request.user, ip_address=client_ip(request))  # type: ignore[arg-type]
    messages.success(request, _("有効にしました。") if scenario.is_active else _("無効にしました。"))
    return redirect("console:scenario", scenario_id=scenario.pk)


@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_export_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    number = request.GET.get("version", "")
    version = (
        scenario.versions.filter(number=int(number)).first()
        if number.isdigit() and len(number) < 9
        else _shown_version(scenario)
    )
    if version is None:
        return render(request, "console/not_found.html", status=404)
    audit_record(
        action="scenarios.scenario.exported",
        actor=request.user,
        obj=scenario,
        ip_address=client_ip(request),
        data={"number": version.number},
    )
    response = HttpResponse(scenario_export(version), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{scenario.slug}-v{version.number}.yaml"'
    return response


@require_POST
@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_import_view(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("ファイルを選んでください。"))
        return redirect("console:scenarios")
    upload = form.cleaned_data["file"]
    if upload.size > MAX_YAML_BYTES:
        messages.error(request, _("ファイルが大きすぎます (200 KB まで)。"))
        return redirect("console:scenarios")
    content = upload.read()
    try:
        slug = definition_load(content)["slug"]
    except DefinitionInvalid as exc:
        messages.error(request, _("取り込めませんでした。"))
        for line in exc.errors[:20]:
            messages.error(request, line)
        return redirect("console:scenarios")
    problem = _slug_taken_elsewhere(request, slug)
    if problem:
        messages.error(request, problem)
        return redirect("console:scenarios")
    version = scenario_import(
        content,
        actor=request.user,  # type: ignore[arg-type]
        department=_department(request),
        publish=form.cleaned_data["publish"],
        ip_address=client_ip(request),
    )
    messages.success(
        request,
        _("「%(title)s」を第 %(number)d 版 (%(status)s) として取り込みました。")
        % {"title": version.scenario.title, "number": version.number, "status": version.get_status_display()},
    )
    return redirect("console:scenario", scenario_id=version.scenario_id)


@require_POST
@staff_view(Perm.SCENARIOS_MANAGE)
def scenario_preview_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """Start the draft (or the published version) on a test phone and send its first steps."""
    scenario = get_object_or_404(_visible(request), pk=scenario_id)
    version = _shown_version(scenario)
    target = request.POST.get("line_user_id", "")
    allowed = dict(_preview_targets(request))
    channel = Channel.objects.filter(is_active=True).order_by("pk").first()
    if version is None or channel is None:
        messages.error(request, _("プレビューできる版またはチャネルがありません。"))
    elif target not in allowed:
        messages.error(request, _("この電話にはプレビューを送れません。"))
    else:
        try:
            scenario_preview(
                version,
                channel=channel,
                line_user_id=target,
                actor=request.user,  # type: ignore[arg-type]
                ip_address=client_ip(request),
            )
            messages.success(
                request,
                _("第 %(number)d 版を %(phone)s に送りました。電話の画面で続きを試せます。")
                % {"number": version.number, "phone": allowed[target]},
            )
        except ChannelError:
            messages.error(request, _("プレビューを送れませんでした (LINE に届きませんでした)。"))
    return redirect("console:scenario", scenario_id=scenario.pk)
