from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "madoguchi.messaging"
    verbose_name = _("配信")

    def ready(self) -> None:
        # Step deliveries start when a resident follows or registers.
        from madoguchi.residents import services

        for hooks, path in (
            (services.FOLLOW_HOOKS, "madoguchi.messaging.steps.steps_on_follow"),
            (services.REGISTRATION_HOOKS, "madoguchi.messaging.steps.steps_on_registration"),
        ):
            if path not in hooks:
                hooks.append(path)
