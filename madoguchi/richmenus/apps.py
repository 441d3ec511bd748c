from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RichMenusConfig(AppConfig):
    name = "madoguchi.richmenus"
    label = "richmenus"
    verbose_name = _("リッチメニュー")

    def ready(self) -> None:
        from madoguchi.residents import services as residents
        from madoguchi.richmenus import conversation  # noqa: F401 - registers the tab postback

        # A resident who registers or changes their audience gets that audience's menu. Added
        # here, not in residents.services, because residents cannot import this app.
        hook = "madoguchi.richmenus.services.resident_menu_follow_registration"
        if hook not in residents.REGISTRATION_HOOKS:
            residents.REGISTRATION_HOOKS.append(hook)
