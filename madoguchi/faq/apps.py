from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FaqConfig(AppConfig):
    name = "madoguchi.faq"
    label = "faq"
    verbose_name = _("よくある質問")

    def ready(self) -> None:
        # Plugs into the chatbot's dispatcher: the FAQ stage and the FAQ's postback actions.
        from madoguchi.faq import conversation  # noqa: F401
