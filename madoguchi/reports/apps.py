from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "madoguchi.reports"
    label = "reports"
    verbose_name = _("不具合通報")

    def ready(self) -> None:
        # Plugs into the chatbot's dispatcher: the report flow, its postbacks and its words.
        from madoguchi.reports import conversation  # noqa: F401
