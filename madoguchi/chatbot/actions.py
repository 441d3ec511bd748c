"""The chatbot's own postback actions: show the menu, choose the language (a person: `inbox`)."""

from __future__ import annotations

from django.utils import translation

from madoguchi.chatbot import answers
from madoguchi.chatbot.registry import Answer, Turn, postback_action
from madoguchi.residents.services import resident_language_set


@postback_action("menu")
def show_menu(turn: Turn, params: dict[str, str]) -> Answer:
    return answers.menu()


@postback_action("language")
def choose_language(turn: Turn, params: dict[str, str]) -> Answer:
    code = params.get("code", "")
    if code not in dict(answers.LANGUAGES):
        return answers.language_choice()
    resident_language_set(turn.resident, code)
    with translation.override(code):
        return answers.language_set()
