"""The resident's journey in LINE: category → photos → place → a few words → confirm → a
receipt number; and the list of their own reports.

Entry points other parts (the rich menu, scenarios) can point at:
- postback `reports.start` (also the words 不具合, 通報, 不具合通報): start a report;
- postback `reports.mine` (also 通報履歴, 通報の状況): the resident's reports and their status.

The draft report exists from the moment a category is chosen, so each photo is fetched from LINE
as soon as it arrives. A resident in the flow has one `FlowState` ("reports") whose `data` holds
the draft's id; buttons carry that id, so a button from an earlier report does nothing harmful.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.channels.base import (
    Action,
    CameraAction,
    CameraRollAction,
    LocationAction,
    MessageAction,
    OutboundMessage,
    PostbackAction,
    Text,
)
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.flows import flow_active, flow_end, flow_start
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import (
    Answer,
    Turn,
    postback_action,
    postback_data,
    register_flow,
    register_matcher,
)
from madoguchi.reports import services
from madoguchi.reports.messages import category_label, status_label
from madoguchi.reports.models import Report
from madoguchi.reports.photos import PhotoRefused

FLOW_NAME = "reports"
START = "reports.start"
MINE = "reports.mine"
CATEGORY = "reports.category"
NEXT = "reports.next"
CONFIRM = "reports.confirm"
START_WORDS = {"不具合", "通報", "不具合通報", "不具合を通報", "不具合の通報", "report a problem"}
MINE_WORDS = {"通報履歴", "通報の状況", "自分の通報", "my reports"}
NEXT_WORDS = {"次へ", "つぎへ", "なし", "スキップ", "next", "skip"}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ADDRESS = 200


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _cancel() -> MessageAction:
    # Typed cancel words end any flow (chatbot.engine.CANCEL_WORDS); the chip types one.
    return MessageAction(label=_("やめる"), text="やめる")


def _next(report: Report, label: str) -> PostbackAction:
    return PostbackAction(label=label, data=postback_data(NEXT, r=str(report.pk)), display_text=label)


# Starting


def start(turn: Turn) -> Answer:
    categories = list(services.categories_active()[:11])
    if not categories:
        return [Text(_("現在、LINE での不具合通報は受け付けていません。"), quick_replies=menu_chips())]
    chips: list[Action] = [
        PostbackAction(
            label=category_label(category),
            data=postback_data(CATEGORY, c=category.code),
            display_text=category_label(category),
        )
        for category in categories
    ]
    chips.append(
        PostbackAction(label=_("自分の通報"), data=postback_data(MINE), display_text=_("自分の通報"))
    )
    return [
        Text(
            _("道路や公園などの不具合を市に通報できます。\nどの種類ですか？下のボタンから選んでください。"),
            quick_replies=tuple(chips[:13]),
        )
    ]


@postback_action(START)
def start_action(turn: Turn, params: dict[str, str]) -> Answer:
    return start(turn)


@postback_action(CATEGORY)
def choose_category(turn: Turn, params: dict[str, str]) -> Answer:
    category = services.categories_active().filter(code=params.get("c", "")[:40]).first()
    if category is None:
        return [Text(_("このカテゴリは現在受け付けていません。")), *start(turn)]
    if category.urgent_phone:
        # A danger that needs a person now: the phone number, not a form.
        flow_end(turn.resident)
        text = category.urgent_text or _("危険な状態のときは、すぐにお電話ください。")
        return [Text(f"{text}\n☎ {category.urgent_phone}", quick_replies=menu_chips())]
    report = services.draft_start(turn.resident, category)
    flow_start(turn.resident, FLOW_NAME, "photo", {"report": report.pk})
    return [photo_prompt(report, intro=True)]


# Each step's question


def photo_prompt(report: Report, *, intro: bool = False) -> Text:
    count = report.photos.count()
    if intro:
        text = _(
            "写真を送ってください (%(max)d 枚まで)。"
            "近くから 1 枚、周りが分かるように遠くから 1 枚あると助かります。"
        ) % {"max": services.MAX_PHOTOS}
        label = _("写真なしで進む")
    else:
        text = _("写真を受け取りました (%(count)d/%(max)d 枚)。ほかにもあれば送ってください。") % {
            "count": count,
            "max": services.MAX_PHOTOS,
        }
        label = _("次へ")
    chips: tuple[Action, ...] = (
        CameraAction(label=_("カメラ")),
        CameraRollAction(label=_("写真を選ぶ")),
        _next(report, label),
        _cancel(),
    )
    return Text(text, quick_replies=chips)


def location_prompt(report: Report) -> Text:
    chips: list[Action] = [LocationAction(label=_("位置情報を送る"))]
    if report.place == Report.Place.PHOTO:
        chips.append(_next(report, _("写真の撮影場所でよい")))
    chips.append(_cancel())
    text = _(
        "場所を教えてください。「位置情報を送る」から地図で選ぶか、"
        "住所や目印 (例: 中央公園の南口のトイレ前) を文字で送ってください。"
    )
    if report.place == Report.Place.PHOTO:
        text += "\n" + _(
            "写真に撮影場所が記録されていました。その場所でよければ「写真の撮影場所でよい」を押してください。"
        )
    return Text(text, quick_replies=tuple(chips))


def description_prompt(report: Report) -> Text:
    return Text(
        _("どんな状態か、短く教えてください (例: 直径 30cm ほどの穴があいている)。%(max)d 文字まで。")
        % {"max": settings.REPORTS_DESCRIPTION_MAX},
        quick_replies=(_next(report, _("説明なしで進む")), _cancel()),
    )


def confirm_prompt(report: Report) -> list[OutboundMessage]:
    report.refresh_from_db()
    if report.address:
        place = report.address
    elif report.has_point:
        place = f"{report.latitude:.5f}, {report.longitude:.5f}"
    else:
        place = _("なし")
    summary = "\n".join(
        [
            _("次の内容で通報します。"),
            _("種類: %(category)s") % {"category": category_label(report.category)},
            _("写真: %(count)d 枚") % {"count": report.photos.count()},
            _("場所: %(place)s") % {"place": place},
            _("内容: %(text)s") % {"text": report.description or _("なし")},
        ]
    )
    send = PostbackAction(
        label=_("送信する"), data=postback_data(CONFIRM, r=str(report.pk)), display_text=_("送信する")
    )
    return [Text(summary, quick_replies=(send, _cancel()))]


# The flow


class ReportFlow:
    """chatbot.registry.Flow: what the resident sends while a report is being written."""

    name = FLOW_NAME

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        report = _draft(state)
        if report is None:
            flow_end(turn.resident)
            return [Text(_("入力の途中で時間がたったため、最初からやり直してください。")), *start(turn)]
        step = state.step
        typed = _fold(turn.raw_text or "")
        if step == "photo":
            if turn.message_type == "image" and turn.message_id:
                return self.photo(turn, state, report)
            if turn.location is not None:
                return self.location(turn, state, report)
            if typed in NEXT_WORDS:
                return advance(turn, state, report)
            return [Text(_("写真を送るか、「次へ」を押してください。")), photo_prompt(report, intro=True)]
        if step == "location":
            if turn.location is not None:
                return self.location(turn, state, report)
            if turn.message_type == "text" and turn.raw_text:
                return self.address(turn, state, report)
            if turn.message_type == "image":
                return [
                    Text(_("写真は前の手順で受け付けました。いまは場所を送ってください。")),
                    location_prompt(report),
                ]
            return [location_prompt(report)]
        if step == "description":
            if turn.message_type == "text" and turn.raw_text is not None:
                if typed in NEXT_WORDS:
                    return advance(turn, state, report)
                return self.description(turn, state, report)
            return [Text(_("文字で送ってください。")), description_prompt(report)]
        # confirm
        return [
            Text(_("「送信する」を押すと通報が届きます。やめるときは「やめる」と送ってください。")),
            *confirm_prompt(report),
        ]

    def photo(self, turn: Turn, state: FlowState, report: Report) -> Answer:
        try:
            services.photo_add(report, line_message_id=turn.message_id or "")
        except PhotoRefused as refused:
            return [Text(str(refused)), photo_prompt(report, intro=not report.photos.exists())]
        if report.photos.count() >= services.MAX_PHOTOS:
            return [
                Text(_("写真を %(max)d 枚受け取りました。") % {"max": services.MAX_PHOTOS}),
                *advance(turn, state, report),
            ]
        return [photo_prompt(report)]

    def location(self, turn: Turn, state: FlowState, report: Report) -> Answer:
        location = turn.location or {}
        try:
            lat, lng = float(location.get("latitude")), float(location.get("longitude"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return [
                Text(_("位置情報を読み取れませんでした。もう一度送ってください。")),
                location_prompt(report),
            ]
        address = location.get("address")
        try:
            services.draft_set_point(
                report, lat=lat, lng=lng, address=CONTROL.sub("", address) if isinstance(address, str) else ""
            )
        except services.ReportError as problem:
            return [Text(str(problem)), location_prompt(report)]
        _goto(state, "description")
        return [description_prompt(report)]

    def address(self, turn: Turn, state: FlowState, report: Report) -> Answer:
        text = CONTROL.sub("", turn.raw_text or "").strip()
        if _fold(text) in NEXT_WORDS and report.place == Report.Place.PHOTO:
            _goto(state, "description")
            return [description_prompt(report)]
        if not text:
            return [location_prompt(report)]
        if len(text) > MAX_ADDRESS:
            return [
                Text(_("住所や目印は %(max)d 文字以内で送ってください。") % {"max": MAX_ADDRESS}),
                location_prompt(report),
            ]
        services.draft_set_address(report, address=text)
        _goto(state, "description")
        return [description_prompt(report)]

    def description(self, turn: Turn, state: FlowState, report: Report) -> Answer:
        text = CONTROL.sub("", turn.raw_text or "").strip()
        limit = settings.REPORTS_DESCRIPTION_MAX
        if len(text) > limit:
            # Nothing is lost: the photos and the place stay, and the question is asked again.
            return [
                Text(
                    _(
                        "説明が長すぎます (%(length)d 文字)。"
                        "%(max)d 文字以内にまとめてもう一度送ってください。"
                    )
                    % {"length": len(text), "max": limit}
                ),
                description_prompt(report),
            ]
        if not text:
            return [description_prompt(report)]
        services.draft_set_description(report, text=text)
        _goto(state, "confirm")
        return confirm_prompt(report)


register_flow(ReportFlow())


def _draft(state: FlowState) -> Report | None:
    report_id = state.data.get("report") if isinstance(state.data, dict) else None
    if not isinstance(report_id, int):
        return None
    return (
        Report.objects.select_related("category")
        .filter(pk=report_id, status=Report.Status.DRAFT, resident=state.resident_id)
        .first()
    )


def _goto(state: FlowState, step: str) -> None:
    state.step = step
    state.save(update_fields=["step", "updated_at"])


def advance(turn: Turn, state: FlowState, report: Report) -> Answer:
    """The resident is done with this step (次へ, or three photos): the next one."""
    report.refresh_from_db()
    if state.step == "photo":
        _goto(state, "location")
        return [location_prompt(report)]
    if state.step == "location" and report.place == Report.Place.PHOTO:
        _goto(state, "description")
        return [description_prompt(report)]
    if state.step == "description":
        _goto(state, "confirm")
        return confirm_prompt(report)
    return [location_prompt(report)] if state.step == "location" else confirm_prompt(report)


def _current(turn: Turn, params: dict[str, str]) -> tuple[FlowState, Report] | None:
    """The resident's draft, if the tapped button belongs to it."""
    state = flow_active(turn.resident)
    if state is None or state.flow != FLOW_NAME:
        return None
    report = _draft(state)
    if report is None or params.get("r") != str(report.pk):
        return None
    return state, report


def _stale() -> Answer:
    return [
        Text(
            _("この通報の入力は終わっています。新しく通報するときは「不具合」と送ってください。"),
            quick_replies=menu_chips(),
        )
    ]


@postback_action(NEXT)
def next_step(turn: Turn, params: dict[str, str]) -> Answer:
    current = _current(turn, params)
    if current is None:
        return _stale()
    state, report = current
    return advance(turn, state, report)


@postback_action(CONFIRM)
def confirm(turn: Turn, params: dict[str, str]) -> Answer:
    current = _current(turn, params)
    if current is None:
        return _stale()
    state, report = current
    if state.step != "confirm":
        return advance(turn, state, report)
    report = services.report_submit(report)
    flow_end(turn.resident)
    return [
        Text(
            _(
                "通報を受け付けました。受付番号は %(number)s です。\n"
                "対応の状況は、この LINE でお知らせします。ご協力ありがとうございます。"
            )
            % {"number": report.number},
            quick_replies=(
                PostbackAction(label=_("自分の通報"), data=postback_data(MINE), display_text=_("自分の通報")),
                *menu_chips(),
            ),
        )
    ]


@postback_action(MINE)
def mine(turn: Turn, params: dict[str, str]) -> Answer:
    reports = list(
        services.reports_submitted()
        .filter(followers__resident=turn.resident)
        .select_related("category")
        .order_by("-submitted_at")[:10]
    )
    if not reports:
        return [
            Text(
                _("まだ通報はありません。不具合を見つけたら「不具合」と送ってください。"),
                quick_replies=menu_chips(),
            )
        ]
    lines = [_("あなたの通報 (新しい順):")]
    for report in reports:
        status = status_label(report.status)
        if report.status == Report.Status.MERGED and report.duplicate_of is not None:
            status += " → " + (report.duplicate_of.number or "")
        lines.append(
            _("%(number)s %(category)s: %(status)s (%(date)s)")
            % {
                "number": report.number,
                "category": category_label(report.category),
                "status": status,
                "date": f"{report.submitted_at:%m/%d}" if report.submitted_at else "",
            }
        )
    return [Text("\n".join(lines), quick_replies=menu_chips())]


def words_stage(turn: Turn) -> Answer | None:
    """不具合 / 通報 start a report; 通報履歴 lists the resident's own."""
    typed = _fold(turn.raw_text or "")
    if typed in START_WORDS:
        return start(turn)
    if typed in MINE_WORDS:
        return mine(turn, {})
    return None


register_matcher("scenario", words_stage)
