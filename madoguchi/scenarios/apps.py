from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScenariosConfig(AppConfig):
    name = "madoguchi.scenarios"
    label = "scenarios"
    verbose_name = _("シナリオ")

    def ready(self) -> None:
        # Plugs into the chatbot's dispatcher: the scenario flow, its postbacks and trigger words.
        from madoguchi.scenarios import conversation  # noqa: F401
