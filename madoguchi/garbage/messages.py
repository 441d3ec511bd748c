"""What residents are told about garbage, as channel-neutral messages (called inside
`translation.override(resident.reply_language)`)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _

from madoguchi.channels.base import Buttons, MessageAction, OutboundMessage, PostbackAction, Text, UriAction
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.registry import has_postback_action, postback_data
from madoguchi.garbage.attribution import credit_for
from madoguchi.garbage.calendar import Collection
from madoguchi.garbage.models import Area, Item, ReminderSubscription
from madoguchi.garbage.selectors import area_collections
from madoguchi.residents.models import Resident

WEEKDAY_NAMES = "月火水木金土日"
DAY = "garbage.day"
ITEM = "garbage.item"
REMIND = "garbage.remind"
# The registration app's postback (registration/messages.py START), named, not imported: the two
# apps stay independent.
REGISTRATION_START = "profile.start"
# The 粗大ごみ booking's postback (bulky/conversation.py START), named for the same reason.
BULKY_START = "bulky.start"


def label(text: str) -> str:
    return text if len(text) <= 20 else text[:19] + "…"


def shown_day(day: date) -> str:
    return _("%(month)s月%(day)s日(%(weekday)s)") % {
        "month": day.month,
        "day": day.day,
        "weekday": WEEKDAY_NAMES[day.weekday()],
    }


def _line(collection: Collection) -> str:
    line = "・" + collection.category
    if collection.moved_from:
        line += _("(%(day)sの分)") % {"day": shown_day(collection.moved_from)}
    return line


def day_chips(resident: Resident) -> tuple[PostbackAction, ...]:
    chips = [
        PostbackAction(_("今日のごみ"), postback_data(DAY, d="0"), _("今日のごみは?")),
        PostbackAction(_("明日のごみ"), postback_data(DAY, d="1"), _("明日のごみは?")),
        PostbackAction(_("1週間のごみ"), postback_data(DAY, d="week"), _("ごみの日")),
    ]
    if ReminderSubscription.objects.filter(resident=resident).exists():
        chips.append(
            PostbackAction(_("前日のお知らせをやめる"), postback_data(REMIND, on="0"), _("ごみ通知停止"))
        )
    else:
        chips.append(PostbackAction(_("前日にお知らせ"), postback_data(REMIND, on="1"), _("ごみ通知")))
    return tuple(chips)


def register_prompt(resident: Resident) -> list[OutboundMessage]:
    """The resident has no district yet: one tap to register it."""
    form = resident.channel.liff_url("register/")
    actions: list[UriAction | PostbackAction] = []
    if form:
        actions.append(UriAction(label=_("地区を登録する"), uri=form))
    if has_postback_action(REGISTRATION_START):
        actions.append(
            PostbackAction(
                label=_("チャットで登録") if form else _("地区を登録する"),
                data=postback_data(REGISTRATION_START),
                display_text=_("登録"),
            )
        )
    text = _("ごみの収集日は地区ごとに違います。お住まいの地区を登録すると、その地区の収集日をお答えします。")
    if not actions:
        return [Text(text, quick_replies=menu_chips())]
    return [
        Buttons(alt_text=_("地区の登録"), text=text[:160], actions=tuple(actions), quick_replies=menu_chips())
    ]


def no_area(resident: Resident) -> list[OutboundMessage]:
    name = resident.district.name_in(resident.reply_language) if resident.district else ""
    return [
        Text(
            _(
                "地区「%(district)s」の収集日はまだご案内できません。お手数ですが市のごみカレンダーをご覧ください。"
            )
            % {"district": name},
            quick_replies=menu_chips(),
        )
    ]


def day_answer(resident: Resident, area: Area, day: date, today: date) -> list[OutboundMessage]:
    collections = area_collections(area, day, day)
    when = _("今日") if day == today else _("明日") if day == today + timedelta(days=1) else shown_day(day)
    if collections:
        text = _("%(when)s %(date)s の%(area)sのごみ:\n%(lines)s\n朝8時30分までに出してください。") % {
            "when": when,
            "date": shown_day(day),
            "area": area.name,
            "lines": "\n".join(_line(c) for c in collections),
        }
    else:
        text = _("%(when)s %(date)s は%(area)sのごみの収集はありません。") % {
            "when": when,
            "date": shown_day(day),
            "area": area.name,
        }
    return [Text(text, quick_replies=day_chips(resident))]


def week_answer(resident: Resident, area: Area, today: date) -> list[OutboundMessage]:
    collections = area_collections(area, today, today + timedelta(days=6))
    by_day: dict[date, list[Collection]] = {}
    for collection in collections:
        by_day.setdefault(collection.day, []).append(collection)
    lines = [
        shown_day(day) + " " + "・".join(c.category for c in items) for day, items in sorted(by_day.items())
    ]
    text = _("%(area)sのこれから1週間のごみの日:\n%(lines)s") % {
        "area": area.name,
        "lines": "\n".join(lines) or _("収集はありません。"),
    }
    return [Text(text, quick_replies=day_chips(resident))]


def item_answer(item: Item, area: Area | None, today: date) -> list[OutboundMessage]:
    category = item.category
    lines = [_("【%(name)s】") % {"name": item.name}, _("分別: %(category)s") % {"category": category.name}]
    if item.notice:
        lines.append(_("出し方: %(notice)s") % {"notice": item.notice})
    if category.description:
        lines.append(category.description)
    if area is not None:
        upcoming = [
            c
            for c in area_collections(area, today, today + timedelta(days=45))
            if c.category == category.name
        ]
        if upcoming:
            lines.append(
                _("次の%(category)sの日: %(date)s")
                % {"category": category.name, "date": shown_day(upcoming[0].day)}
            )
    chips = menu_chips()
    if "粗大" in category.name and has_postback_action(BULKY_START):
        # Where the city takes bookings in LINE, an item for 粗大ごみ is one tap from booking it.
        book = PostbackAction(_("粗大ごみを申し込む"), postback_data(BULKY_START), _("粗大ごみ 申込"))
        chips = (book, *chips)[:13]
    # The open data's credit, as on the LIFF page: the item's text is quoted from it.
    credit = credit_for(item)
    body = "\n".join(lines)[: 5000 - len(credit) - 2]
    return [Text(f"{body}\n\n{credit}" if credit else body, quick_replies=chips)]


def item_choices(items: list[Item]) -> list[OutboundMessage]:
    chips = [
        PostbackAction(label(item.name), postback_data(ITEM, id=str(item.pk)), item.name[:300])
        for item in items[:11]
    ]
    return [
        Text(
            _("どれのことですか? 近いものを選んでください。"),
            quick_replies=(*chips, MessageAction(label=_("やめる"), text=_("メニュー"))),
        )
    ]


def reminder_answer(resident: Resident, on: bool, changed: bool, area: Area | None) -> list[OutboundMessage]:
    if on:
        text = (
            _("収集日の前の日の夕方に、出せるごみをお知らせします。")
            if changed
            else _("前日のお知らせはもう届く設定になっています。")
        )
        if area is None:
            text += "\n" + _("お住まいの地区を登録すると届くようになります。")
        text += "\n" + _("やめるときは「ごみ通知停止」と送ってください。")
    else:
        text = _("前日のお知らせを止めました。") if changed else _("前日のお知らせは届かない設定です。")
    return [Text(text, quick_replies=day_chips(resident))]


def guide(resident: Resident) -> list[OutboundMessage]:
    """「ごみ」 alone (the rich menu's ごみの出し方): what the bot can tell, one tap each."""
    text = _(
        "品目の名前を送ると、分別と出し方をお答えします(例: スプレー缶、ソファー 捨て方)。"
        "収集日は下のボタンからどうぞ。"
    )
    page = resident.channel.liff_url("garbage/")
    if page:
        return [
            Buttons(
                alt_text=_("ごみの分別・収集日"),
                text=text[:160],
                actions=(UriAction(label=_("分別を調べる"), uri=page),),
                quick_replies=day_chips(resident),
            )
        ]
    return [Text(text, quick_replies=day_chips(resident))]
