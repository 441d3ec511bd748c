from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatbotConfig(AppConfig):
    name = "madoguchi.chatbot"
    label = "chatbot"
    verbose_name = _("チャットボット")

    def ready(self) -> None:
        # The chatbot's own postback actions (menu, language) register like any feature app's.
        from madoguchi.chatbot import actions  # noqa: F401
