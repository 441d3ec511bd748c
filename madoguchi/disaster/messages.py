"""What residents are told about shelters, as channel-neutral messages (translatable)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from madoguchi.channels.base import (
    Action,
    Flex,
    LocationAction,
    MessageAction,
    OutboundMessage,
    PostbackAction,
    Text,
)
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.registry import postback_data
from madoguchi.disaster.hazards import HAZARDS, Hazard
from madoguchi.disaster.models import Shelter
from madoguchi.disaster.selectors import Found, Search
from madoguchi.residents.models import District

START = "disaster.shelters"
HAZARD = "disaster.hazard"
DISTRICT = "disaster.district"
FAR_M = 30_000  # farther than this, the sent place is probably not where the resident is
CREDITS = {
    "standard": "出典：石川県・七尾市 指定緊急避難所一覧（CC BY 4.0）を raokiey が加工したものを利用",
    "gsi": "出典：国土地理院 指定緊急避難場所・指定避難所データ",
}


def distance_text(metres: float) -> str:
    if metres < 1000:
        return _("約 %(m)d m") % {"m": max(10, round(metres / 10) * 10)}
    return _("約 %(km).1f km") % {"km": metres / 1000}


def _cancel() -> MessageAction:
    return MessageAction(label=_("やめる"), text="やめる")


def hazard_prompt() -> list[OutboundMessage]:
    chips: list[Action] = [
        PostbackAction(
            label=str(hazard.label)[:20],
            data=postback_data(HAZARD, h=hazard.code),
            display_text=str(hazard.label),
        )
        for hazard in HAZARDS
    ]
    chips.append(_cancel())
    return [
        Text(
            _("避難所を探します。どの災害から避難しますか？\n(災害の種類によって使える避難所が違います)"),
            quick_replies=tuple(chips),
        )
    ]


def place_prompt(hazard: Hazard, districts: list[District], language: str) -> list[OutboundMessage]:
    chips: list[Action] = [LocationAction(label=_("位置情報を送る"))]
    for district in districts[:11]:
        name = district.name_in(language)
        chips.append(
            PostbackAction(
                label=name[:20],
                data=postback_data(DISTRICT, h=hazard.code, d=district.code),
                display_text=name,
            )
        )
    chips.append(_cancel())
    text = _(
        "%(hazard)s ですね。いまいる場所を「位置情報を送る」から送ってください。近い順にお知らせします。"
    ) % {"hazard": hazard.label}
    if districts:
        text += "\n" + _("地区を選んでも探せます。")
    return [Text(text, quick_replies=tuple(chips[:13]))]


def _again(hazard: Hazard) -> tuple[Action, ...]:
    return (
        PostbackAction(
            label=_("別の場所で探す"),
            data=postback_data(HAZARD, h=hazard.code),
            display_text=_("別の場所で探す"),
        ),
        PostbackAction(
            label=_("別の災害で探す"), data=postback_data(START), display_text=_("別の災害で探す")
        ),
        *menu_chips(),
    )


def _capacity(shelter: Shelter) -> str:
    if shelter.capacity:
        return _("想定収容 %(n)s 人") % {"n": f"{shelter.capacity:,}"}
    return ""


def _bubble(found: Found) -> dict[str, Any]:
    shelter = found.shelter
    body: list[dict[str, Any]] = [{"type": "text", "text": shelter.name, "weight": "bold", "wrap": True}]
    if found.distance_m is not None:
        body.append(
            {"type": "text", "text": distance_text(found.distance_m), "size": "sm", "color": "#1E7F3C"}
        )
    if shelter.address:
        body.append({"type": "text", "text": shelter.address, "size": "xs", "color": "#555555", "wrap": True})
    status = " ・ ".join(
        part for part in (str(Shelter.Status(shelter.status).label), _capacity(shelter)) if part
    )
    body.append({"type": "text", "text": status, "size": "xs", "wrap": True})
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "height": "sm",
                    "action": {"type": "uri", "label": _("地図で見る"), "uri": shelter.map_url},
                }
            ],
        },
    }


def search_answer(search: Search, hazard: Hazard, *, where: str) -> list[OutboundMessage]:
    """The open sites found (text with distances, then a carousel with map links), or why none."""
    if not search.found:
        if search.designated == 0:
            text = _(
                "%(where)s%(hazard)s に対応した避難所は登録されていません。\n"
                "身の安全を確保し、市の発表や防災行政無線の指示に従ってください。"
            ) % {"where": where, "hazard": hazard.label}
        else:
            text = _(
                "%(where)sいま開設している %(hazard)s の避難所はありません"
                "(対応する避難所 %(designated)d か所、うち満員 %(full)d か所)。\n"
                "開設されたら市からお知らせします。危険を感じたら、近くの安全な場所へ避難してください。"
            ) % {"where": where, "hazard": hazard.label, "designated": search.designated, "full": search.full}
        return [Text(text, quick_replies=_again(hazard))]
    lines = [
        _("%(where)s%(hazard)s に対応した、開設中の避難所です(近い順):")
        % {"where": where, "hazard": hazard.label}
        if search.found[0].distance_m is not None
        else _("%(where)s%(hazard)s に対応した、開設中の避難所です:")
        % {"where": where, "hazard": hazard.label}
    ]
    for number, found in enumerate(search.found, start=1):
        distance = f" ({distance_text(found.distance_m)})" if found.distance_m is not None else ""
        lines.append(f"{number}. {found.shelter.name}{distance}")
    first = search.found[0].distance_m
    if first is not None and first > FAR_M:
        lines.append(_("送られた場所から遠い避難所です。位置情報が正しいか確かめてください。"))
    if search.full:
        lines.append(_("満員の避難所 %(full)d か所は除いています。") % {"full": search.full})
    credit = CREDITS.get(search.found[0].shelter.source)
    if credit:
        lines.append(credit)
    carousel = {"type": "carousel", "contents": [_bubble(found) for found in search.found]}
    return [
        Text("\n".join(lines)),
        Flex(alt_text=_("開設中の避難所"), contents=carousel, quick_replies=_again(hazard)),
    ]


def location_unreadable() -> Text:
    return Text(_("位置情報を読み取れませんでした。もう一度送ってください。"))


def none_imported() -> list[OutboundMessage]:
    return [
        Text(
            _("避難所の情報はまだ登録されていません。市の発表や防災行政無線の指示に従ってください。"),
            quick_replies=menu_chips(),
        )
    ]
