from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationConfig(AppConfig):
    name = "madoguchi.registration"
    label = "registration"
    verbose_name = _("住民登録")

    def ready(self) -> None:
        # Plugs into the chatbot (the chat registration, its postbacks and words, the welcome)
        # and into residents' registration (the behaviour tag).
        from madoguchi.registration import conversation  # noqa: F401
        from madoguchi.residents.services import REGISTRATION_HOOKS

        hook = "madoguchi.registration.tagging.tag_households_with_children"
        if hook not in REGISTRATION_HOOKS:
            REGISTRATION_HOOKS.append(hook)
