"""The rich menu in the conversation: a tab tap (`richmenuswitch`) is answered with nothing.

LINE switches the resident's menu itself and sends us a postback saying so; the bot has nothing
to add, and must not treat the tap as a question it did not understand.
"""

from __future__ import annotations

from madoguchi.chatbot.registry import Answer, Turn, postback_action
from madoguchi.richmenus.cells import TAB_ACTION


@postback_action(TAB_ACTION)
def tab_switched(turn: Turn, params: dict[str, str]) -> Answer:
    return []
