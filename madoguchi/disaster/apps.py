from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisasterConfig(AppConfig):
    name = "madoguchi.disaster"
    label = "disaster"
    verbose_name = _("防災")

    def ready(self) -> None:
        # Plugs into the chatbot: 避難所 (the hazard at hand, then a location or a district).
        from madoguchi.disaster import conversation  # noqa: F401
