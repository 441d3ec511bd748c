from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GarbageConfig(AppConfig):
    name = "madoguchi.garbage"
    label = "garbage"
    verbose_name = _("ごみ")

    def ready(self) -> None:
        # Plugs into the chatbot (calendar words, item search, reminder opt-in/out) and into
        # residents' erasure (the reminder opt-in is the only personal data kept here).
        from madoguchi.garbage import conversation  # noqa: F401
        from madoguchi.residents.services import ERASURE_HOOKS

        hook = "madoguchi.garbage.services.resident_erase"
        if hook not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(hook)
