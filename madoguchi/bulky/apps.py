from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkyConfig(AppConfig):
    name = "madoguchi.bulky"
    label = "bulky"
    verbose_name = _("粗大ごみ")

    def ready(self) -> None:
        # Plugs into the chatbot (the words 粗大ごみ 申込 offer the booking page) and into the
        # residents' erasure (saved addresses and bookings' personal data go).
        from madoguchi.bulky import conversation  # noqa: F401
        from madoguchi.residents.services import ERASURE_HOOKS

        hook = "madoguchi.bulky.services.bookings_erase"
        if hook not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(hook)
