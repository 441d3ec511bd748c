"""Alert feeds (警報の受信フィード) in the console: the feeds polled for alerts with how each last
went, add, edit, disable and enable one, and 今すぐ取得 (queue one poll now). The URL's rule is the
model's (`disaster.models.feed_url_refusal`); what the poller does with it is `disaster.feeds`.
URLs are shown without their user, password or query, as the poller logs them."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import Perm
from madoguchi.console.access import staff_view
from madoguchi.core.remote import client_ip
from madoguchi.disaster.feeds import redacted
from madoguchi.disaster.models import (
    FEED_INTERVAL_MAX,
    FEED_INTERVAL_MIN,
    AlertFeed,
    AlertFeedEntry,
    feed_url_refusal,
)
from madoguchi.disaster.services import alert_feed_poll_now, alert_feed_save, alert_feed_set_active

MAX_FEEDS_LISTED = 200


def has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


class AlertFeedForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名前"), max_length=100)
    url = forms.CharField(
        label=gettext_lazy("URL"),  # no max_length here: the rule's own message says how long
        help_text=gettext_lazy(
            "気象庁の高頻度フィード(https://www.data.jma.go.jp/developer/xml/feed/extra.xml など)か、"
            "CAP・気象庁防災情報XMLの文書の URL。フィードの項目は、フィードと同じホストからだけ取得します。"
        ),
    )
    interval_seconds = forms.IntegerField(
        label=gettext_lazy("取得間隔(秒)"),
        initial=60,
        help_text=gettext_lazy("%(min)d 秒から %(max)d 秒(1 日)まで")
        % {"min": FEED_INTERVAL_MIN, "max": FEED_INTERVAL_MAX},
    )
    known_kinds_only = forms.BooleanField(
        label=gettext_lazy("扱う種類だけ取得"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "項目名が扱う種類の気象庁電文(警報・注意報、土砂災害、洪水、地震、津波)でなければ取得しない"
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("有効"), required=False, initial=True)

    def __init__(self, *args: Any, feed: AlertFeed | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feed = feed
        # A URL with a user and password set in the admin site is not shown here: blank keeps it.
        self.keeps_secret_url = feed is not None and has_credentials(feed.url)
        if self.keeps_secret_url:
            self.fields["url"].required = False
            self.fields["url"].help_text = _(
                "今の URL(%(url)s、利用者名とパスワードつき)のままにするときは空のままにします。"
            ) % {"url": redacted(feed.url)}  # type: ignore[union-attr]
        for field in self.fields.values():
            # Django's Japanese for its NUL check says "enter some text": the checks below say why.
            field.validators = [
                v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
            ]
            field.error_messages["required"] = _("入力してください。")
            field.error_messages["max_length"] = _("%(limit_value)d 文字以内で入れてください。")
            field.error_messages["invalid"] = _("整数で入れてください。")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if any(unicodedata.category(char) == "Cc" for char in name):
            raise ValidationError(_("名前に制御文字は使えません。"))
        return name

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "").strip()
        if not url and self.keeps_secret_url:
            return self.feed.url  # type: ignore[union-attr]
        refusal = feed_url_refusal(url)
        if refusal:
            raise ValidationError(refusal)
        if has_credentials(url):
            raise ValidationError(
                _(
                    "利用者名やパスワードを含む URL は登録できません"
                    "(画面に表示されてしまいます)。含まない URL を入れてください。"
                )
            )
        try:
            AlertFeed._meta.get_field("url").clean(url, None)  # Django's own URL check too
        except ValidationError:
            raise ValidationError(_("URL として読めません。")) from None
        others = AlertFeed.objects.filter(url=url)
        same = (others.exclude(pk=self.feed.pk) if self.feed else others).first()
        if same is not None:
            raise ValidationError(_("この URL は「%(name)s」として登録済みです。") % {"name": same.name})
        return url

    def clean_interval_seconds(self) -> int:
        seconds = self.cleaned_data["interval_seconds"]
        if not FEED_INTERVAL_MIN <= seconds <= FEED_INTERVAL_MAX:
            raise ValidationError(
                _("取得間隔は %(min)d 秒から %(max)d 秒までにしてください。")
                % {"min": FEED_INTERVAL_MIN, "max": FEED_INTERVAL_MAX}
            )
        return int(seconds)


def feed_rows() -> list[dict[str, Any]]:
    """The feeds with what their polls gave: one query (entries counted in it)."""
    feeds = AlertFeed.objects.annotate(
        fetched=Count("entries", filter=Q(entries__fetched_at__isnull=False)),
        stored=Count("entries", filter=Q(entries__state=AlertFeedEntry.State.STORED)),
    ).order_by("-is_active", "name", "pk")[:MAX_FEEDS_LISTED]
    return [{"feed": feed, "where": redacted(feed.url)} for feed in feeds]


@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_feeds(request: HttpRequest) -> HttpResponse:
    return render(request, "console/disaster/alert_feeds.html", {"rows": feed_rows()})


@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_feed_edit(request: HttpRequest, feed_id: int | None = None) -> HttpResponse:
    feed = get_object_or_404(AlertFeed, pk=feed_id) if feed_id is not None else None
    initial: dict[str, Any] = {}
    if feed is not None:
        initial = {
            "name": feed.name,
            "url": "" if has_credentials(feed.url) else feed.url,
            "interval_seconds": feed.interval_seconds,
            "known_kinds_only": feed.known_kinds_only,
            "is_active": feed.is_active,
        }
    form = AlertFeedForm(request.POST or None, initial=initial, feed=feed)
    if request.method == "POST" and form.is_valid():
        saved = alert_feed_save(
            actor=request.user,
            feed=feed,
            values={name: form.cleaned_data[name] for name in AlertFeedForm.base_fields},
            ip_address=client_ip(request),
        )
        messages.success(request, _("受信フィード「%(name)s」を保存しました。") % {"name": saved.name})
        return redirect("console:alert_feeds")
    return render(request, "console/disaster/alert_feed_edit.html", {"form": form, "feed": feed})


@require_POST
@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_feed_active(request: HttpRequest, feed_id: int) -> HttpResponse:
    feed = get_object_or_404(AlertFeed, pk=feed_id)
    active = request.POST.get("active") == "1"
    if alert_feed_set_active(feed, active=active, actor=request.user, ip_address=client_ip(request)):
        messages.success(
            request,
            (_("「%(name)s」を有効にしました。") if active else _("「%(name)s」を無効にしました。"))
            % {"name": feed.name},
        )
    return redirect("console:alert_feeds")


@require_POST
@staff_view(Perm.ALERT_RULES_MANAGE)
def alert_feed_poll(request: HttpRequest, feed_id: int) -> HttpResponse:
    feed = get_object_or_404(AlertFeed, pk=feed_id)
    if alert_feed_poll_now(feed, actor=request.user, ip_address=client_ip(request)):
        messages.success(
            request,
            _("「%(name)s」の取得を受け付けました。しばらくしてからこの画面を開き直してください。")
            % {"name": feed.name},
        )
    else:
        messages.error(request, _("無効にしたフィードは取得できません。先に有効にしてください。"))
    return redirect("console:alert_feeds")
