from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    """The public page: reports staff published, their outcomes and a map (no sign-in)."""

    name = "madoguchi.outcomes"
    label = "outcomes"
    verbose_name = _("通報の公開ページ")
