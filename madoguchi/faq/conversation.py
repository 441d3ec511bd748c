"""The FAQ in the conversation: the dispatcher's FAQ stage and the FAQ's postback actions."""

from __future__ import annotations

from django.utils.translation import gettext as _

from madoguchi.channels.base import Buttons, Image, OutboundMessage, PostbackAction, Text, UriAction
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.registry import (
    Turn,
    postback_action,
    postback_data,
    register_matcher,
    register_miss_counter,
)
from madoguchi.faq.images import image_preview_public_url, image_public_url
from madoguchi.faq.index import current_index, live_queryset
from madoguchi.faq.models import FaqEntry, FaqImage, Question
from madoguchi.faq.services import question_feedback


def _label(text: str) -> str:
    """A quick-reply label (LINE allows 20 characters)."""
    text = text.rstrip("。？?")
    return text if len(text) <= 20 else text[:19] + "…"


def _picture(entry: FaqEntry) -> list[OutboundMessage]:
    """The entry's picture as an image message, or nothing (one small query: never the bytes)."""
    found = FaqImage.objects.filter(entry_id=entry.pk).values_list("key", "content_type").first()
    if found is None:
        return []
    key, content_type = found
    return [Image(url=image_public_url(key, content_type), preview_url=image_preview_public_url(key))]


def _answer(entry: FaqEntry, question: Question, language: str) -> list[OutboundMessage]:
    """The entry's picture (one for every language), its answer in the resident's language
    (Japanese where staff wrote none), its links as buttons, and "解決しましたか?" with
    解決した / 解決しない under it (the learning loop): at most four messages of LINE's five."""
    picture = _picture(entry)
    body = entry.answer_in(language)
    if entry.department_label:
        body += "\n" + _("(担当: %(department)s)") % {"department": entry.department_label}
    ask = _("解決しましたか?")
    feedback = (
        PostbackAction(
            _("解決した"),
            postback_data("faq.feedback", q=str(question.pk), ok="1"),
            _("解決しました"),
        ),
        PostbackAction(
            _("解決しない"),
            postback_data("faq.feedback", q=str(question.pk), ok="0"),
            _("解決しませんでした"),
        ),
        *menu_chips(),
    )[:13]
    links = tuple(
        UriAction(str(link.get("label", ""))[:20] or _("詳しくはこちら"), str(link["url"]))
        for link in entry.links[:4]
        if isinstance(link, dict) and str(link.get("url", "")).startswith("https://")
    )
    if not links:
        return [*picture, Text(body[: 4998 - len(ask)] + "\n\n" + ask, quick_replies=feedback)]
    return [
        *picture,
        Text(body[:5000]),
        Buttons(alt_text=_("関連するページ"), text=_("関連するページ"), actions=links),
        Text(ask, quick_replies=feedback),
    ]


def faq_stage(turn: Turn) -> list[OutboundMessage] | None:
    """Answer from the FAQ when sure, offer the top 3 when unsure, else pass (→ the fallback)."""
    return faq_answer(turn)


def faq_answer(turn: Turn, *, categories: frozenset[str] | None = None) -> list[OutboundMessage] | None:
    """The FAQ stage's answer; with `categories`, from entries of those categories only, and
    None (nothing kept) when none of them fits, so the turn goes on to the usual stages."""
    if not turn.raw_text or not turn.raw_text.strip():
        return None
    text = turn.raw_text.strip()[:500]
    decision = current_index().decide(text, categories=categories)
    if categories is not None and decision.kind == "abstain":
        return None
    entries = {
        e.external_id: e
        for e in FaqEntry.objects.filter(external_id__in=[c.id for c in decision.candidates[:3]])
    }
    outcome = {"answer": Question.Outcome.ANSWERED, "choices": Question.Outcome.CHOICES}.get(
        decision.kind, Question.Outcome.ABSTAINED
    )
    question = Question.objects.create(
        resident=turn.resident,
        text=text,
        outcome=outcome,
        entry=entries.get(decision.answer_id or ""),
        candidates=[{"id": c.id, "score": c.score} for c in decision.candidates],
    )
    if decision.kind == "answer" and decision.answer_id in entries:
        return _answer(entries[decision.answer_id], question, turn.resident.reply_language)
    if decision.kind == "choices" and entries:
        choices = [
            PostbackAction(
                _label(entries[c.id].question),
                postback_data("faq.show", id=c.id, q=str(question.pk)),
                entries[c.id].question[:300],
            )
            for c in decision.candidates[:3]
            if c.id in entries
        ]
        turn.tentative = True  # a guess: not the end of a streak of misses
        return [Text(_("お探しの内容はこの中にありますか?"), quick_replies=(*choices, *menu_chips()))]
    return None


register_matcher("faq", faq_stage)


def ignored_close_calls(turn: Turn) -> int:
    """A resident who types something else after a close call did not find their question among
    the choices: that close call is a miss of the streak, and waits for staff with the
    unanswered questions (`helpful` False: the choices did not help)."""
    if turn.message_type != "text":
        return 0
    ignored = Question.objects.filter(
        resident=turn.resident,
        outcome=Question.Outcome.CHOICES,
        entry__isnull=True,
        helpful__isnull=True,
        handled_at__isnull=True,
    ).update(helpful=False)
    return min(ignored, 1)


register_miss_counter(ignored_close_calls)


@postback_action("faq.show")
def show_entry(turn: Turn, params: dict[str, str]) -> list[OutboundMessage]:
    # Live entries only (active and within 掲載開始日・掲載終了日), as the matcher's index: a
    # scenario jump or an old choice chip must not show an entry that has expired or not begun.
    entry = live_queryset().filter(external_id=params.get("id", "")[:40]).first()
    question = (
        Question.objects.filter(pk=params.get("q") or 0, resident=turn.resident).first()
        if params.get("q", "").isdigit()
        else None
    )
    if entry is None:
        return [
            Text(
                _(
                    "申し訳ありません。この案内は現在ご覧いただけません。別の言葉でお尋ねいただくか、メニューからお選びください。"
                ),
                quick_replies=menu_chips(),
            )
        ]
    if question is None:
        question = Question.objects.create(
            resident=turn.resident, text=entry.question[:500], outcome=Question.Outcome.ANSWERED, entry=entry
        )
    else:
        Question.objects.filter(pk=question.pk).update(entry=entry)
    return _answer(entry, question, turn.resident.reply_language)


@postback_action("faq.feedback")
def feedback(turn: Turn, params: dict[str, str]) -> list[OutboundMessage]:
    if (
        params.get("q", "").isdigit()
        and Question.objects.filter(pk=params["q"], resident=turn.resident).exists()
    ):
        question_feedback(int(params["q"]), params.get("ok") == "1")
    if params.get("ok") == "1":
        return [Text(_("よかったです。ほかにもご用件があればどうぞ。"), quick_replies=menu_chips())]
    return [
        Text(
            _("お役に立てず申し訳ありません。別の言葉で聞いていただくか、職員にご相談ください。"),
            quick_replies=menu_chips(),
        )
    ]
