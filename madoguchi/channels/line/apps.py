from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineConfig(AppConfig):
    name = "madoguchi.channels.line"
    label = "line"
    verbose_name = _("LINE 連携")
