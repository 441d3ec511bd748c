from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiffConfig(AppConfig):
    name = "madoguchi.liff"
    label = "liff"
    verbose_name = _("住民向けページ (LIFF)")
