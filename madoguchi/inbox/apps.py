from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "madoguchi.inbox"
    verbose_name = _("問い合わせ・相談")

    def ready(self) -> None:
        # Registers hand-off, the operator stage, crisis words and the counseling channel's handler.
        from madoguchi.inbox import conversation  # noqa: F401
