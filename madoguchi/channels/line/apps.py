from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineConfig(AppConfig):
    name = "madoguchi.channels.line"
    label = "line"
    verbose_name = _("LINE 連携")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from madoguchi.channels.line.webhook import channel_cache_clear
        from madoguchi.core.models import Channel

        post_save.connect(channel_cache_clear, sender=Channel, dispatch_uid="line-channel-cache")
        post_delete.connect(channel_cache_clear, sender=Channel, dispatch_uid="line-channel-cache-delete")
