from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisasterConfig(AppConfig):
    name = "madoguchi.disaster"
    label = "disaster"
    verbose_name = _("防災")

    def ready(self) -> None:
        # Plugs into the chatbot: 避難所 (the hazard at hand, then a location or a district).
        from madoguchi.disaster import conversation, mode  # noqa: F401
        from madoguchi.disaster.safety import FILTER, recipient_filter
        from madoguchi.messaging.sending import RECIPIENT_FILTERS

        # A safety confirmation's districts, or its non-responders (the re-ask).
        RECIPIENT_FILTERS[FILTER] = recipient_filter
