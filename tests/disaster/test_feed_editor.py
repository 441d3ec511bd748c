"""The console's page for alert feeds: the list with each feed's status (URLs without their
secrets), add and edit with the model's one URL rule (hostile URLs refused in Japanese, nothing
saved), disable and enable, 今すぐ取得 queueing the worker's poll (then run against a real local
HTTP server); permissions, CSRF and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.core.models import AuditEntry
from madoguchi.disaster.models import Alert, AlertFeed, AlertFeedEntry
from madoguchi.disaster.tasks import feeds_enqueue_due
from tests.conftest import run_tasks
from tests.console.conftest import signed_in
from tests.disaster.test_feeds import LANDSLIDE, Reply, atom, site  # noqa: F401 - `site` is a fixture

JMA = "https://www.data.jma.go.jp/developer/xml/feed/extra.xml"


def form(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "気象庁 高頻度(随時)",
        "url": JMA,
        "interval_seconds": "60",
        "known_kinds_only": "on",
        "is_active": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_the_list_shows_each_feeds_kind_last_poll_outcome_entries_and_next_poll(make_staff):
    now = timezone.now()
    failing = AlertFeed.objects.create(
        name="県の CAP フィード",
        url="https://bosai:hunter2-pass@cap.example.jp/feed.xml?key=SECRET-KEY-42",
        kind=AlertFeed.Kind.ATOM,
        last_polled_at=now,
        last_ok_at=now - timedelta(hours=1),
        last_error="XML として読めません(line 1)",
        last_error_at=now,
        failures=2,
        next_poll_at=now + timedelta(seconds=60),
    )
    for number, state in enumerate([AlertFeedEntry.State.STORED, AlertFeedEntry.State.DUPLICATE]):
        AlertFeedEntry.objects.create(
            feed=failing,
            entry_id=f"urn:{number}",
            url="https://cap.example.jp/a.xml",
            state=state,
            fetched_at=now,
        )
    AlertFeed.objects.create(
        name="津波の文書",
        url="https://cap.example.jp/tsunami.cap",
        kind=AlertFeed.Kind.DOCUMENT,
        last_polled_at=now,
    )
    AlertFeed.objects.create(name="まだの気象庁", url=JMA)
    AlertFeed.objects.create(name="止めたフィード", url="https://old.example.jp/feed.xml", is_active=False)

    page = signed_in(make_staff("delivery")).get(reverse("console:alert_feeds")).content.decode()
    assert page.count('data-testid="alert-feed"') == 4
    assert "https://cap.example.jp/feed.xml" in page  # as the poller logs it
    assert "hunter2" not in page and "SECRET-KEY" not in page and "bosai" not in page
    assert "Atom フィード" in page and "単一の文書" in page
    assert "取得に失敗(2 回続けて)" in page and "XML として読めません(line 1)" in page
    assert "最後に成功した取得" in page and "うち新しい警報 1" in page
    assert "まだ取得していません" in page and "まもなく" in page
    assert page.count("今すぐ取得") == 3 and "有効にする" in page


def test_staff_add_a_feed_and_it_is_saved_audited_and_due_at_once(make_staff):
    manager = make_staff("dept_manager")
    client = signed_in(manager)
    page = client.get(reverse("console:alert_feed_new")).content.decode()
    for label in ("取得間隔(秒)", "扱う種類だけ取得", "15 秒から 86400 秒", "同じホストからだけ"):
        assert label in page
    response = client.post(reverse("console:alert_feed_new"), form(url=f"{JMA}?key=abc"))
    assert response.status_code == 302 and response["location"] == reverse("console:alert_feeds")
    feed = AlertFeed.objects.get()
    assert (feed.name, feed.url, feed.interval_seconds, feed.known_kinds_only, feed.is_active) == (
        "気象庁 高頻度(随時)",
        f"{JMA}?key=abc",
        60,
        True,
        True,
    )
    assert feed.next_poll_at is None  # the periodic job's next pass takes it
    entry = AuditEntry.objects.get(action="disaster.alert_feed.created")
    assert entry.actor == manager.user and entry.data["url"] == JMA  # no query in the log
    # The same URL twice would be polled twice: refused.
    again = client.post(reverse("console:alert_feed_new"), form(name="もう一つ", url=f"{JMA}?key=abc"))
    assert "この URL は「気象庁 高頻度(随時)」として登録済みです。" in again.content.decode()
    assert AlertFeed.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"url": "javascript:alert(document.cookie)"}, "https:// で始まる URL を入れてください"),
        ({"url": "file:///etc/passwd"}, "https:// で始まる URL を入れてください"),
        ({"url": "ftp://ftp.example.jp/feed.xml"}, "https:// で始まる URL を入れてください"),
        ({"url": "http://www.example.jp/feed.xml"}, "暗号化されない http:// は使えません"),
        (
            {"url": "https://bosai:hunter2@www.example.jp/feed.xml"},
            "利用者名やパスワードを含む URL は登録できません",
        ),
        ({"url": "https://www.example.jp/" + "a" * 5000}, "URL は 500 文字以内にしてください。"),
        ({"url": "https://www.example.jp/🌀台風.xml"}, "URL に使えない文字(空白、全角文字、絵文字など)"),
        ({"url": "https://www.example.jp/feed.xml\r\nX-Injected: 1"}, "URL に使えない文字"),
        ({"url": "https://www.example.jp/feed.xml\x00.cap"}, "URL に使えない文字"),
        ({"url": "ｈｔｔｐｓ://www.example.jp/feed.xml"}, "URL に使えない文字"),
        ({"url": "https:///feed.xml"}, "URL にホスト名がありません。"),
        ({"url": "https://www.example.jp:99999/feed.xml"}, "URL として読めません。"),
        ({"url": "https://bosai-server/feed.xml"}, "URL として読めません。"),  # Django's check: no domain
        ({"url": ""}, "入力してください。"),
        ({"interval_seconds": "5"}, "取得間隔は 15 秒から 86400 秒までにしてください。"),
        ({"interval_seconds": "999999999"}, "取得間隔は 15 秒から 86400 秒までにしてください。"),
        ({"interval_seconds": "-60"}, "取得間隔は 15 秒から 86400 秒までにしてください。"),
        ({"interval_seconds": "1分"}, "整数で入れてください。"),
        ({"name": "気" * 5000}, "100 文字以内で入れてください。"),
        ({"name": "   "}, "入力してください。"),
        ({"name": "警報\x00フィード"}, "名前に制御文字は使えません。"),
    ],
)
def test_hostile_input_is_refused_in_japanese_and_nothing_is_saved(make_staff, fields, error):
    client = signed_in(make_staff("delivery"))
    response = client.post(reverse("console:alert_feed_new"), form(**fields))
    assert response.status_code == 200
    page = response.content.decode()
    assert "入力を確かめてください。" in page and error in page
    assert not AlertFeed.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="disaster.alert_feed").exists()


def test_a_name_with_emoji_and_an_address_on_the_citys_network_are_fine(make_staff, settings):
    # The poller fetches a feed's URL wherever it is (a prefecture's system may be on the city's
    # network); only an Atom feed's entries are held to the feed's own host.
    client = signed_in(make_staff("delivery"))
    client.post(
        reverse("console:alert_feed_new"), form(name="県の防災 🌀", url="https://192.168.10.5/cap.xml")
    )
    assert AlertFeed.objects.get().name == "県の防災 🌀"


def test_http_is_accepted_only_where_the_settings_allow_it(make_staff, settings):
    client = signed_in(make_staff("delivery"))
    url = "http://127.0.0.1:8999/feed.xml"
    assert (
        "暗号化されない http:// は使えません"
        in client.post(reverse("console:alert_feed_new"), form(url=url)).content.decode()
    )
    settings.MADOGUCHI_ALERT_FEED_ALLOW_HTTP = True
    page = client.post(
        reverse("console:alert_feed_new"), form(url="ftp://127.0.0.1/feed.xml")
    ).content.decode()
    assert "https:// か http:// で始まる URL を入れてください。" in page
    assert client.post(reverse("console:alert_feed_new"), form(url=url)).status_code == 302
    assert AlertFeed.objects.get().url == url


def test_the_admin_site_applies_the_same_url_rule(make_staff):
    client = signed_in(make_staff("admin"))
    response = client.post(
        reverse("admin:disaster_alertfeed_add"),
        {"name": "x", "url": "http://www.example.jp/feed.xml", "interval_seconds": "60", "is_active": "on"},
    )
    assert response.status_code == 200 and "暗号化されない http:// は使えません" in response.content.decode()
    response = client.post(
        reverse("admin:disaster_alertfeed_add"),
        {"name": "x", "url": JMA, "interval_seconds": "100000", "is_active": "on"},
    )
    assert response.status_code == 200 and not AlertFeed.objects.exists()


def test_edit_disable_and_enable_are_audited_and_a_new_url_starts_afresh(make_staff):
    profile = make_staff("delivery")
    client = signed_in(profile)
    later = timezone.now() + timedelta(hours=1)
    feed = AlertFeed.objects.create(
        name="気象庁",
        url=JMA,
        kind=AlertFeed.Kind.ATOM,
        etag='"v1"',
        last_modified="Tue, 01 Dec 2026 00:00:00 GMT",
        failures=3,
        last_error="取得できませんでした(HTTP 503)",
        next_poll_at=later,
    )
    edit = reverse("console:alert_feed_edit", args=[feed.pk])
    assert JMA in client.get(edit).content.decode()
    assert client.post(edit, form(name="気象庁(随時)", known_kinds_only=None)).status_code == 302
    feed.refresh_from_db()
    assert (feed.name, feed.known_kinds_only, feed.etag, feed.next_poll_at) == (
        "気象庁(随時)",
        False,
        '"v1"',
        later,
    )
    new_url = "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"
    client.post(edit, form(name="気象庁(随時)", url=new_url, interval_seconds="30"))
    feed.refresh_from_db()
    assert (feed.url, feed.interval_seconds, feed.etag, feed.last_modified, feed.kind) == (
        new_url,
        30,
        "",
        "",
        "",
    )
    assert (feed.failures, feed.last_error, feed.next_poll_at) == (0, "", None)
    changed = AuditEntry.objects.filter(action="disaster.alert_feed.changed").order_by("pk")
    assert [e.data["fields"] for e in changed] == [
        ["known_kinds_only", "name"],
        ["interval_seconds", "known_kinds_only", "url"],
    ]

    active = reverse("console:alert_feed_active", args=[feed.pk])
    assert client.post(active, {"active": "0"}).status_code == 302
    assert client.post(active, {"active": "0"}).status_code == 302  # already: nothing more
    feed.refresh_from_db()
    assert not feed.is_active
    assert feeds_enqueue_due() == 0  # a disabled feed is not polled
    page = client.get(reverse("console:alert_feeds")).content.decode()
    assert "「気象庁(随時)」を無効にしました。" in page and "今すぐ取得" not in page
    client.post(active, {"active": "1"})
    feed.refresh_from_db()
    assert feed.is_active and feed.next_poll_at is None
    assert [
        e.action for e in AuditEntry.objects.filter(action__regex=r"alert_feed\.(en|dis)abled").order_by("pk")
    ] == [
        "disaster.alert_feed.disabled",
        "disaster.alert_feed.enabled",
    ]
    assert all(
        e.actor == profile.user for e in AuditEntry.objects.filter(action__startswith="disaster.alert_feed")
    )


def test_a_url_with_a_password_set_in_the_admin_site_is_never_shown_and_kept_when_left_blank(make_staff):
    secret = "https://bosai:hunter2-pass@cap.example.jp/feed.xml"
    feed = AlertFeed.objects.create(name="県", url=secret)
    client = signed_in(make_staff("delivery"))
    edit = reverse("console:alert_feed_edit", args=[feed.pk])
    page = client.get(edit).content.decode()
    assert "hunter2" not in page and "https://cap.example.jp/feed.xml" in page
    assert client.post(edit, form(name="県の CAP", url="")).status_code == 302
    feed.refresh_from_db()
    assert (feed.name, feed.url) == ("県の CAP", secret)
    assert "hunter2" not in str(AuditEntry.objects.get(action="disaster.alert_feed.changed").data)


@pytest.mark.django_db(transaction=True)
def test_poll_now_queues_the_worker_task_which_fetches_from_a_real_server(site, make_staff, settings):  # noqa: F811
    settings.MADOGUCHI_ALERT_FEED_ALLOW_HTTP = True  # the local server speaks http
    site.routes["/feed.xml"] = Reply(
        body=atom(("土砂災害警戒情報", "urn:jma:1", "/data/landslide.xml")),
        content_type="application/atom+xml",
    )
    site.routes["/data/landslide.xml"] = Reply(body=LANDSLIDE)
    profile = make_staff("delivery")
    client = signed_in(profile)
    client.post(reverse("console:alert_feed_new"), form(name="ローカル", url=f"{site.base}/feed.xml"))
    feed = AlertFeed.objects.get()

    response = client.post(reverse("console:alert_feed_poll", args=[feed.pk]), follow=True)
    assert "「ローカル」の取得を受け付けました。" in response.content.decode()
    assert DBTaskResult.objects.filter(task_path__endswith="poll_alert_feed").count() == 1
    entry = AuditEntry.objects.get(action="disaster.alert_feed.poll_requested")
    assert entry.actor == profile.user and entry.object_id == str(feed.pk)
    assert site.hits == []  # queued, not fetched in the request
    assert feeds_enqueue_due() == 0  # claimed: the periodic job does not poll it as well

    run_tasks()
    assert site.hits == ["/feed.xml", "/data/landslide.xml"]
    assert Alert.objects.count() == 1
    page = client.get(reverse("console:alert_feeds")).content.decode()
    assert "Atom フィード" in page and "正常" in page and "うち新しい警報 1" in page

    # A disabled feed is not polled on request.
    client.post(reverse("console:alert_feed_active", args=[feed.pk]), {"active": "0"})
    response = client.post(reverse("console:alert_feed_poll", args=[feed.pk]), follow=True)
    assert "無効にしたフィードは取得できません。" in response.content.decode()
    assert AuditEntry.objects.filter(action="disaster.alert_feed.poll_requested").count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="poll_alert_feed").count() == 1


def test_only_staff_with_the_permission_reach_the_page_and_posts_need_the_csrf_token(make_staff):
    feed = AlertFeed.objects.create(name="気象庁", url=JMA)
    owner = make_staff("delivery")
    posts = [
        (reverse("console:alert_feed_new"), form(name="別")),
        (reverse("console:alert_feed_edit", args=[feed.pk]), form(name="別")),
        (reverse("console:alert_feed_active", args=[feed.pk]), {"active": "0"}),
        (reverse("console:alert_feed_poll", args=[feed.pk]), {}),
    ]
    for role in ("dept_staff", "auditor", "operator", "counselor", "admin"):
        client = signed_in(make_staff(role))
        assert client.get(reverse("console:alert_feeds")).status_code == 403
        for url, data in posts:
            assert client.post(url, data).status_code == 403
        nav = client.get(reverse("console:dashboard")).content.decode()
        assert f'href="{reverse("console:alert_feeds")}"' not in nav
    assert AuditEntry.objects.filter(action="console.access.denied").count() == 25
    strict = signed_in(owner)
    strict.handler.enforce_csrf_checks = True
    for url, data in posts:
        assert strict.post(url, data).status_code == 403
    feed.refresh_from_db()
    assert (AlertFeed.objects.count(), feed.name, feed.is_active) == (1, "気象庁", True)
    assert not DBTaskResult.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="disaster.alert_feed").exists()
    # The nav and the alert list link to the page for those who may edit feeds.
    for role in ("delivery", "dept_manager"):
        client = signed_in(make_staff(role, username=f"{role}-2"))
        assert (
            f'href="{reverse("console:alert_feeds")}"'
            in client.get(reverse("console:dashboard")).content.decode()
        )
        assert "alert-feeds-link" in client.get(reverse("console:alerts")).content.decode()


def test_the_pages_and_their_errors_read_in_english(make_staff, settings):
    AlertFeed.objects.create(
        name="JMA",
        url=JMA,
        kind=AlertFeed.Kind.ATOM,
        last_polled_at=timezone.now(),
        last_error="x",
        failures=2,
    )
    client = signed_in(make_staff("delivery"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get(reverse("console:alert_feeds")).content.decode()
    for text in (
        "Alert feeds",
        "Add a feed",
        "Atom feed",
        "Fetch now",
        "Entries fetched",
        "Poll failed (2 times",
    ):
        assert text in listing, text
    edit = client.post(
        reverse("console:alert_feed_new"), form(url="ftp://x.example.jp/", interval_seconds="1")
    )
    page = edit.content.decode()
    for text in (
        "New feed",
        "Enter a URL starting with https://",
        "The interval must be from 15 to 86400 seconds",
    ):
        assert text in page, text
    for shown in (listing, page):
        assert "受信フィード" not in shown and "取得" not in shown
