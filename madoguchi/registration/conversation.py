"""Registration in the chat, for residents who prefer it to the form: the same choices, one
question at a time, each answered with one tap on a quick reply.

consent → audience → district (residents only) → age band → interests (tap each, then 完了) →
language → children's birthdates (date picker; optional). Nothing is saved until the end, where
`resident_register` saves it all at once, as the LIFF form does. The resident's `FlowState`
("profile") holds the answers so far; a tap on a chip of an earlier question is answered, not
obeyed. 「やめる」 ends it at any point (the dispatcher's cancel words).

Started by the postback `profile.start` (welcome message, rich menu) or the words 登録 / 登録変更.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.channels.base import Action, DatetimePickerAction, PostbackAction, Text
from madoguchi.chatbot.answers import LANGUAGES, cancel_chip, menu_chips
from madoguchi.chatbot.engine import normalise
from madoguchi.chatbot.flows import flow_active, flow_end, flow_start
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import (
    Answer,
    Turn,
    postback_action,
    postback_data,
    register_flow,
    register_matcher,
    register_welcome,
)
from madoguchi.registration import messages
from madoguchi.registration.messages import START
from madoguchi.residents.models import District, Interest, Resident
from madoguchi.residents.services import CHILD_MAX_YEARS, MAX_CHILDREN, RegistrationError, resident_register

FLOW = "profile"
ANSWER = "profile.answer"
# Typed words that start (or restart) registration.
START_WORDS = {"登録", "登録変更", "登録する", "登録内容", "登録情報", "とうろく", "register", "registration"}
MAX_CHIPS = 13  # LINE's limit of quick replies
LABEL = 20  # LINE's limit of a label
KEEP, SKIP, MORE, DONE, PICK, CLEAR = "=keep", "=skip", "=more", "=done", "=pick", "=clear"


@dataclass
class Option:
    value: str
    label: str


def _label(text: str) -> str:
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


# The steps, in order. Each: the question, its options, and whether it may be skipped or kept.


def _audience_options(language: str) -> list[Option]:
    return [Option(value, str(label)) for value, label in Resident.Audience.choices]


def _district_options(language: str) -> list[Option]:
    return [Option(d.code, d.name_in(language)) for d in District.objects.all()]


def _age_options(language: str) -> list[Option]:
    return [Option(value, str(label)) for value, label in Resident.AgeBand.choices]


def _interest_options(language: str) -> list[Option]:
    return [Option(i.code, i.name_in(language)) for i in Interest.objects.all()]


def _language_options(language: str) -> list[Option]:
    return [Option(code, label) for code, label in LANGUAGES]


OPTIONS = {
    "audience": _audience_options,
    "district": _district_options,
    "age_band": _age_options,
    "interests": _interest_options,
    "language": _language_options,
}
STEPS = ["consent", "audience", "district", "age_band", "interests", "language", "children"]


def _question(step: str) -> str:
    return {
        "audience": _("あてはまるものを選んでください。"),
        "district": _("お住まいの地区を選んでください。"),
        "age_band": _("年代を選んでください。"),
        "interests": _(
            "お知らせを受け取りたい分野を選んでください。いくつでも選べます。選び終わったら「完了」を押してください。"
        ),
        "language": _("お知らせを受け取る言語を選んでください。"),
    }[step]


class Registration:
    """One turn of a resident in the chat registration."""

    def __init__(self, turn: Turn, state: FlowState):
        self.turn = turn
        self.state = state
        self.resident = turn.resident
        self.data: dict[str, Any] = state.data
        self.language = self.resident.reply_language

    # Asking

    def chip(self, label: str, value: str, shown: str | None = None) -> PostbackAction:
        return PostbackAction(
            label=_label(label),
            data=postback_data(ANSWER, s=self.state.step, v=value),
            display_text=(shown or label)[:300],
        )

    def prompt(self, note: str = "") -> Answer:
        step = self.state.step
        if step == "consent":
            return self.consent_prompt(note)
        if step == "children":
            return self.children_prompt(note)
        options = OPTIONS[step](self.language)
        extras: list[Action] = []
        if step == "interests":
            chosen = set(self.data.get("interests") or [])
            options = [Option(o.value, ("✓ " if o.value in chosen else "") + o.label) for o in options]
            extras.append(self.chip(_("完了"), DONE))
        elif step == "language":
            extras.append(self.chip(_("いまのまま"), KEEP))
        else:
            if self.data.get(step):
                extras.append(self.chip(_("そのまま"), KEEP))
            extras.append(self.chip(_("答えない"), SKIP))
        extras.append(cancel_chip())
        room = MAX_CHIPS - len(extras)
        page = int(self.data.get("page") or 0)
        if len(options) > room:
            room -= 1  # one chip shows the next page
            pages = (len(options) + room - 1) // room
            page %= pages
            shown = options[page * room : (page + 1) * room]
            extras.insert(0, self.chip(_("ほかの選択肢"), MORE))
        else:
            shown = options
        chips = [self.chip(option.label, option.value) for option in shown]
        text = _question(step)
        if step != "interests" and self.data.get(step):
            current_label = next((o.label for o in options if o.value == self.data[step]), "")
            if current_label:
                text += "\n" + _("いまの登録: %(value)s") % {"value": current_label}
        return [Text("\n".join(filter(None, [note, text])), quick_replies=(*chips, *extras))]

    def consent_prompt(self, note: str = "") -> Answer:
        url = messages.terms_url(self.turn.channel)
        text = _(
            "%(city)sからのお知らせを、あなたに合わせてお届けするための登録です。"
            "利用規約をお読みいただき、同意いただける場合は「同意する」を押してください。"
        ) % {"city": settings.MADOGUCHI_CITY_NAME}
        if url:
            text += "\n" + _("利用規約: %(url)s") % {"url": url}
        text += "\n" + _("途中でやめるときは「やめる」と送ってください。")
        chips = (self.chip(_("同意する"), "yes"), self.chip(_("同意しない"), "no"))
        return [Text("\n".join(filter(None, [note, text])), quick_replies=chips)]

    def children_prompt(self, note: str = "") -> Answer:
        children = self.data.get("children") or []
        today = timezone.localdate()
        picker = DatetimePickerAction(
            label=_("生年月日を選ぶ") if not children else _("もう一人追加"),
            data=postback_data(ANSWER, s="children", v=PICK),
            mode="date",
            max=today.isoformat(),
            min=date(today.year - CHILD_MAX_YEARS, 1, 1).isoformat(),
        )
        chips: list[Action] = []
        if len(children) < MAX_CHILDREN:
            chips.append(picker)
        if children:
            text = _("登録するお子さまの生年月日: %(dates)s\nほかにいなければ「完了」を押してください。") % {
                "dates": "、".join(_shown_date(d) for d in children)
            }
            chips += [self.chip(_("完了"), DONE), self.chip(_("登録し直す"), CLEAR)]
        else:
            text = _(
                "お子さまの生年月日を登録すると、健診や予防接種のお知らせが届きます。"
                "登録しないときは「登録しない」を押してください。"
            )
            chips.append(self.chip(_("登録しない"), DONE))
        chips.append(cancel_chip())
        return [Text("\n".join(filter(None, [note, text])), quick_replies=tuple(chips))]

    # Answering

    def answer(self, value: str) -> Answer:
        step = self.state.step
        if step == "consent":
            if value != "yes":
                flow_end(self.resident)
                return [
                    Text(
                        _("登録を取りやめました。同意いただけるときは、もう一度「登録」と送ってください。"),
                        quick_replies=menu_chips(),
                    )
                ]
            self.data["terms"] = settings.MADOGUCHI_TERMS_VERSION
            return self.next_step()
        if step == "children":
            return self.answer_children(value)
        if value == MORE:
            self.data["page"] = int(self.data.get("page") or 0) + 1
            self.state.save()
            return self.prompt()
        if step == "interests":
            if value == DONE:
                return self.next_step()
            codes = {option.value for option in OPTIONS[step](self.language)}
            if value not in codes:
                return self.prompt()
            chosen: list[str] = list(self.data.get("interests") or [])
            if value in chosen:
                chosen.remove(value)
            else:
                chosen.append(value)
            self.data["interests"] = chosen
            self.state.save()
            return self.prompt()
        if value == KEEP:
            return self.next_step()
        if value == SKIP:
            self.data[step] = ""
            return self.next_step()
        if value not in {option.value for option in OPTIONS[step](self.language)}:
            return self.prompt()
        self.data[step] = value
        if step == "language":
            self.language = value
        return self.next_step()

    def answer_children(self, value: str) -> Answer:
        children: list[str] = list(self.data.get("children") or [])
        if value == DONE:
            return self.finish()
        if value == CLEAR:
            self.data["children"] = []
            self.state.save()
            return self.prompt()
        if value == PICK:
            picked = self.turn.postback_params.get("date")
            birthdate = _parse_date(picked)
            today = timezone.localdate()
            if birthdate is None or birthdate > today or birthdate.year < today.year - CHILD_MAX_YEARS:
                return self.prompt(_("お子さまの生年月日を確かめて、もう一度選んでください。"))
            if len(children) < MAX_CHILDREN and birthdate.isoformat() not in children:
                children.append(birthdate.isoformat())
            self.data["children"] = sorted(children)
            self.state.save()
        return self.prompt()

    def next_step(self) -> Answer:
        index = STEPS.index(self.state.step) + 1
        # A district is asked of those who live here (or did not say).
        if STEPS[index] == "district" and self.data.get("audience") not in ("", Resident.Audience.RESIDENT):
            self.data["district"] = ""
            index += 1
        self.state.step = STEPS[index]
        self.data["page"] = 0
        self.state.save()
        with translation.override(self.language):
            return self.prompt()

    def finish(self) -> Answer:
        data = self.data
        try:
            resident = resident_register(
                self.resident,
                terms_version=str(data.get("terms") or ""),
                audience=str(data.get("audience") or ""),
                district=District.objects.filter(code=data.get("district") or "").first(),
                age_band=str(data.get("age_band") or ""),
                interests=list(Interest.objects.filter(code__in=data.get("interests") or [])),
                children=[d for d in map(_parse_date, data.get("children") or []) if d is not None],
                language=str(data.get("language") or "") or None,
            )
        except RegistrationError as error:
            self.state.step = "children"
            self.state.save()
            return self.prompt(str(error))
        flow_end(resident)
        with translation.override(resident.reply_language):
            return messages.confirmation(resident)


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) > 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _shown_date(iso: str) -> str:
    parsed = _parse_date(iso)
    return (
        _("%(y)s年%(m)s月%(d)s日") % {"y": parsed.year, "m": parsed.month, "d": parsed.day} if parsed else iso
    )


def registration_start(turn: Turn) -> Answer:
    """Begin with what the resident registered before, so each question can be kept as it is."""
    resident = turn.resident
    consented = bool(resident.terms_version) and resident.terms_version == settings.MADOGUCHI_TERMS_VERSION
    data = {
        "terms": resident.terms_version if consented else "",
        "audience": resident.audience,
        "district": resident.district.code if resident.district else "",
        "age_band": resident.age_band,
        "interests": [i.code for i in resident.interests.all()],
        "language": resident.reply_language if resident.language else "",
        "children": [c.birthdate.isoformat() for c in resident.children.all()],
        "page": 0,
    }
    state = flow_start(resident, FLOW, "audience" if consented else "consent", data)
    registration = Registration(turn, state)
    note = _("登録内容を変更します。") if resident.registered_at else _("登録を始めます。")
    if consented:  # the consent question says this itself
        note += "\n" + _("途中でやめるときは「やめる」と送ってください。")
    return registration.prompt(note)


class ProfileFlow:
    """Typed words while registering: a choice's own words count as tapping it."""

    name = FLOW

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        registration = Registration(turn, state)
        text = turn.text or ""
        if text in START_WORDS:
            return registration.prompt()
        step = state.step
        typed = {normalise(_("完了")): DONE, normalise(_("そのまま")): KEEP, normalise(_("いまのまま")): KEEP}
        if step == "consent":
            typed.update({normalise(_("同意する")): "yes", normalise(_("同意しない")): "no"})
        elif step == "children":
            typed[normalise(_("登録しない"))] = DONE
        else:
            for option in OPTIONS[step](registration.language):
                typed[normalise(option.label)] = option.value
        if text and text in typed:
            return registration.answer(typed[text])
        return registration.prompt(_("下のボタンから選んでください。"))


register_flow(ProfileFlow())


@postback_action(START)
def start(turn: Turn, params: dict[str, str]) -> Answer:
    return registration_start(turn)


@postback_action(ANSWER)
def answer(turn: Turn, params: dict[str, str]) -> Answer:
    state = flow_active(turn.resident)
    if state is None or state.flow != FLOW:
        if state is not None:
            return [Text(_("前のご案内のボタンです。いまの手続きを続けてください。"))]
        again = PostbackAction(label=_("登録する"), data=postback_data(START), display_text=_("登録"))
        return [
            Text(
                _("この登録の受け付けは終わっています。もう一度登録するときは「登録する」を押してください。"),
                quick_replies=(again, *menu_chips()),
            )
        ]
    registration = Registration(turn, state)
    if params.get("s") != state.step:
        return registration.prompt(_("前の質問のボタンです。いまの質問にお答えください。"))
    return registration.answer(params.get("v", "")[:40])


def start_words(turn: Turn) -> Answer | None:
    """登録 / 登録変更 typed (after staff's keywords, like a scenario's trigger word)."""
    return registration_start(turn) if turn.text in START_WORDS else None


register_matcher("scenario", start_words)


def welcome(turn: Turn) -> Answer:
    """A new friend is offered registration under the greeting (not on a counseling line, which
    never reaches here)."""
    return messages.invitation(turn.resident)


register_welcome(welcome)
