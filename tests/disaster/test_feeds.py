"""Alert feeds polled over HTTP from a real local server: 気象庁-style Atom feeds whose entries link
to documents, a direct CAP URL, conditional GETs, entries fetched once, and what a hostile or
broken server sends (huge, slow, XXE, not XML, redirect loops, other hosts) refused and shown."""

from __future__ import annotations

import contextlib
import http.server
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.core.models import Channel, ScheduledJob
from madoguchi.core.scheduling import PERIODIC_JOBS, tick
from madoguchi.disaster.feeds import FetchFailed, feed_poll, fetch_limited, redacted
from madoguchi.disaster.models import Alert, AlertDelivery, AlertFeed, AlertFeedEntry, AlertRule
from madoguchi.disaster.tasks import feeds_enqueue_due
from madoguchi.messaging.models import Delivery
from tests.conftest import run_tasks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
LANDSLIDE = (FIXTURES / "jma" / "17_01_01_190529_VXWW50.xml").read_bytes()
QUAKE = (FIXTURES / "jma" / "32-35_04_01_100831_VXSE51.xml").read_bytes()
TSUNAMI_CAP = (FIXTURES / "cap" / "wcatwc-warning.cap").read_bytes()
XXE = (FIXTURES / "cap" / "xee.cap").read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    # Called instead of writing the reply (slow or endless servers).
    custom: Callable[[http.server.BaseHTTPRequestHandler], None] | None = None


class Site:
    """What the local server answers, path by path, and every request it saw."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.hits: list[str] = []
        self.conditional: list[tuple[str, str, str]] = []  # path, if-none-match, if-modified-since
        self.base = ""


SITE = Site()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        SITE.hits.append(path)
        SITE.conditional.append(
            (path, self.headers.get("if-none-match", ""), self.headers.get("if-modified-since", ""))
        )
        reply = SITE.routes.get(path, Reply(404, b"not found", "text/plain"))
        if reply.custom is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                reply.custom(self)
            return
        etag = reply.headers.get("etag")
        if etag and self.headers.get("if-none-match") == etag:
            self.send_response(304)
            self.send_header("etag", etag)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        modified = reply.headers.get("last-modified")
        if modified and self.headers.get("if-modified-since") == modified:
            self.send_response(304)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("content-type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value.replace("{base}", SITE.base))
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(settings) -> Iterator[Site]:
    settings.MADOGUCHI_ALERT_FEED_TIMEOUT_SECONDS = 1
    settings.MADOGUCHI_ALERT_FEED_POLL_SECONDS = 30
    SITE.routes, SITE.hits, SITE.conditional = {}, [], []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    SITE.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield SITE
    httpd.shutdown()
    httpd.server_close()


def atom(*entries: tuple[str, str, str]) -> bytes:
    """An Atom feed shaped like 気象庁's 高頻度フィード: (title, id, link) per entry."""
    items = "".join(
        f"<entry><title>{title}</title><id>{entry_id}</id><updated>2026-12-01T00:00:00Z</updated>"
        f"<author><name>福岡管区気象台</name></author>"
        f'<link type="application/xml" href="{link}"/><content type="text">…</content></entry>'
        for title, entry_id, link in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" lang="ja"><title>高頻度(随時)</title>'
        "<id>urn:uuid:feed</id><updated>2026-12-01T00:00:00Z</updated>"
        f'<link href="{SITE.base}/feed.xml" rel="self"/>{items}</feed>'
    ).encode()


@pytest.fixture
def rule(db) -> AlertRule:
    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    owner = staff_create(username="bosai-kikaku", password="x" * 16, role=Role.DELIVERY).user
    return AlertRule.objects.create(
        name="福岡市中央区の土砂災害",
        channel=channel,
        area_codes="4020400",
        kind="landslide",
        min_severity="severe",
        template="evacuate",
        owner=owner,
    )


def feed_at(path: str, **fields: object) -> AlertFeed:
    return AlertFeed.objects.create(name=f"feed {path}", url=f"{SITE.base}{path}", **fields)


def test_an_atom_feed_is_read_entries_are_fetched_once_and_conditional_gets_spare_the_rest(site, rule):
    site.routes = {
        "/feed.xml": Reply(
            body=atom(
                ("土砂災害警戒情報", "urn:jma:1", f"{site.base}/data/landslide.xml"),
                ("震度速報", "urn:jma:2", "/data/quake.xml"),  # relative links are resolved
                ("府県天気予報(R1)", "urn:jma:3", "/data/forecast.xml"),  # nothing a rule could use
            ),
            content_type="application/atom+xml; charset=utf-8",
            headers={"etag": '"v1"', "last-modified": "Tue, 01 Dec 2026 00:00:00 GMT"},
        ),
        "/data/landslide.xml": Reply(body=LANDSLIDE),
        "/data/quake.xml": Reply(body=QUAKE, content_type="text/xml"),
    }
    feed = feed_at("/feed.xml")
    result = feed_poll(feed)
    assert (result.stored, result.skipped, result.refused, result.error) == (2, 1, 0, "")
    assert site.hits == ["/feed.xml", "/data/landslide.xml", "/data/quake.xml"]  # the forecast never
    [made] = AlertDelivery.objects.all()
    assert made.rule == rule and made.delivery.status == Delivery.Status.DRAFT
    assert made.alert.origin == f"{site.base}/data/landslide.xml"
    feed.refresh_from_db()
    assert (feed.etag, feed.failures, feed.last_error) == ('"v1"', 0, "")
    assert feed.last_ok_at is not None

    # Unchanged: one conditional GET answered 304, nothing else fetched.
    site.hits.clear()
    assert feed_poll(feed).not_modified
    assert site.hits == ["/feed.xml"]
    assert site.conditional[-1] == ("/feed.xml", '"v1"', "Tue, 01 Dec 2026 00:00:00 GMT")

    # A new entry: only it is fetched; entries already read are not fetched again.
    site.routes["/feed.xml"] = Reply(
        body=atom(
            ("津波警報・注意報・予報a", "urn:cap:tsunami", "/data/tsunami.cap"),
            ("土砂災害警戒情報", "urn:jma:1", "/data/landslide.xml"),
            ("震度速報", "urn:jma:2", "/data/quake.xml"),
        ),
        headers={"etag": '"v2"'},
    )
    site.routes["/data/tsunami.cap"] = Reply(body=TSUNAMI_CAP, content_type="application/cap+xml")
    site.hits.clear()
    result = feed_poll(feed)
    assert (result.stored, result.duplicates) == (1, 0)
    assert site.hits == ["/feed.xml", "/data/tsunami.cap"]
    assert Alert.objects.count() == 3 and AlertFeedEntry.objects.filter(feed=feed).count() == 3
    # The same document under another entry id is fetched, and stored once.
    site.routes["/feed.xml"] = Reply(body=atom(("土砂災害警戒情報", "urn:jma:1b", "/data/landslide.xml")))
    result = feed_poll(feed)
    assert (result.stored, result.duplicates) == (0, 1) and Alert.objects.count() == 3


def test_a_direct_cap_url_is_fetched_again_only_when_it_changed(site, db):
    site.routes["/cap/latest"] = Reply(
        body=TSUNAMI_CAP, headers={"last-modified": "Tue, 01 Dec 2026 09:00:00 GMT"}
    )
    feed = feed_at("/cap/latest")
    assert feed_poll(feed).stored == 1
    feed.refresh_from_db()
    assert feed_poll(feed).not_modified
    assert site.conditional[-1] == ("/cap/latest", "", "Tue, 01 Dec 2026 09:00:00 GMT")
    # A server without validators: the same alert again is a duplicate, not a second alert.
    site.routes["/cap/latest"] = Reply(body=TSUNAMI_CAP)
    feed.refresh_from_db()
    assert feed_poll(feed).duplicates == 1 and Alert.objects.count() == 1


def drip(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Headers at once, then a byte every 0.2 s: each read is quick, the whole is not."""
    handler.send_response(200)
    handler.send_header("content-type", "application/xml")
    handler.send_header("content-length", "100000")
    handler.end_headers()
    for _ in range(100):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def silent(handler: http.server.BaseHTTPRequestHandler) -> None:
    time.sleep(3)


def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    """No content-length, chunk after chunk: a body that never ends."""
    handler.send_response(200)
    handler.send_header("content-type", "application/xml")
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()
    chunk = b"<" * 65536
    for _ in range(100):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


@pytest.mark.parametrize(
    ("reply", "reason", "transient"),
    [
        (Reply(body=b"<" * 2_000_001), "大きすぎます(2,000,001 バイト", False),
        (Reply(custom=endless), "大きすぎます(上限 2,000,000 バイト)", False),
        (Reply(custom=drip), "1 秒以内に取得を終えられませんでした", True),
        (Reply(custom=silent), "1 秒以内に応答がありませんでした", True),
        (Reply(body=b"<html>hello</html>", content_type="text/html"), "XML ではない内容です", False),
        (Reply(body=b"{}", content_type="application/json"), "XML ではない内容です", False),
        (Reply(302, headers={"location": "{base}/loop"}), "転送(リダイレクト)が 3 回を超えました", False),
        (Reply(302, headers={"location": "file:///etc/passwd"}), "http:// か https:// の URL だけ", False),
        (Reply(503, b"busy", "text/plain"), "HTTP 503", True),
        (Reply(404, b"gone", "text/plain"), "HTTP 404", False),
        (Reply(body=b"x", headers={"content-encoding": "gzip"}), "圧縮された応答は受け付けません", False),
    ],
)
def test_hostile_or_broken_servers_are_refused_in_time(site, reply, reason, transient):
    site.routes["/loop"] = reply
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        fetch_limited(f"{site.base}/loop", max_bytes=2_000_000)
    assert reason in failed.value.message and failed.value.transient == transient
    assert time.monotonic() - started < 5
    if reply.status == 302 and "loop" in reply.headers["location"]:
        assert site.hits == ["/loop"] * 4  # the first request and three redirects, then it stops


def test_a_failing_feed_is_recorded_logged_and_shown_without_its_secrets(site, rule, staff_client, caplog):
    site.routes["/feed.xml"] = Reply(body=b"<feed><entry>", content_type="application/atom+xml")
    feed = AlertFeed.objects.create(
        name="気象庁 高頻度(随時)",
        url=f"http://bosai:hunter2-pass@{site.base.removeprefix('http://')}/feed.xml?key=SECRET-KEY-42",
    )
    with caplog.at_level(logging.WARNING, logger="madoguchi.disaster.feeds"):
        result = feed_poll(feed)
        feed_poll(feed)
    assert result.error.startswith("XML として読めません")
    feed.refresh_from_db()
    assert feed.failures == 2 and feed.last_error.startswith("XML として読めません")
    assert site.hits == ["/feed.xml", "/feed.xml"]  # the credentials were sent, never shown
    assert "hunter2" not in caplog.text and "SECRET-KEY" not in caplog.text
    assert redacted(feed.url) in caplog.text
    console = staff_client("delivery")
    page = console.get(reverse("console:alerts")).content.decode()
    assert "気象庁 高頻度(随時)" in page and "XML として読めません" in page and "2 回続けて" in page
    assert "hunter2" not in page and "SECRET-KEY" not in page
    # Once it answers well, the failure is cleared.
    site.routes["/feed.xml"] = Reply(body=atom(), content_type="application/atom+xml")
    feed_poll(feed)
    feed.refresh_from_db()
    assert (feed.failures, feed.last_error) == (0, "")
    assert "正常" in console.get(reverse("console:alerts")).content.decode()


def test_hostile_entries_are_refused_once_and_the_rest_of_the_feed_still_arrives(site, rule, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7731")
    site.routes = {
        "/feed.xml": Reply(
            body=atom(
                ("気象警報・注意報(H27)", "urn:1", "/data/xxe.xml"),
                ("気象警報・注意報(H27)", "urn:2", "/data/big.xml"),
                ("気象警報・注意報(H27)", "urn:3", "/data/page.html"),
                ("気象警報・注意報(H27)", "urn:4", "http://169.254.169.254/latest/meta-data/"),
                ("気象警報・注意報(H27)", "urn:5", "/data/away"),
                ("気象警報・注意報(H27)", "urn:6", "/data/busy.xml"),
                ("気象警報・注意報(H27)", "urn:7", "/data/broken.xml"),
                ("土砂災害警戒情報", "urn:8", "/data/landslide.xml"),
            )
        ),
        "/data/xxe.xml": Reply(body=XXE.replace(b"file:///etc/passwd", f"file://{secret}".encode())),
        "/data/big.xml": Reply(body=b"<" * 2_000_001),
        "/data/page.html": Reply(body=b"<html></html>", content_type="text/html"),
        "/data/away": Reply(302, headers={"location": "http://127.0.0.2:9/x.xml"}),
        "/data/busy.xml": Reply(503, b"", "text/plain"),
        "/data/broken.xml": Reply(body=b"<Report><unclosed>"),
        "/data/landslide.xml": Reply(body=LANDSLIDE),
    }
    feed = feed_at("/feed.xml")
    result = feed_poll(feed)
    assert (result.stored, result.refused, result.retry) == (1, 6, 1)
    assert Alert.objects.count() == 1 and AlertDelivery.objects.count() == 1
    states = dict(AlertFeedEntry.objects.values_list("entry_id", "error"))
    assert states["urn:1"].startswith("DTD や外部実体を含む XML は受け付けません")
    assert "TOP-SECRET" not in str(states)
    assert states["urn:2"].startswith("大きすぎます")
    assert states["urn:3"].startswith("XML ではない内容です")
    assert states["urn:4"] == "フィードと別のホストを指すリンクは取得しません"
    assert states["urn:5"] == "フィードと別のホストへは取得しに行きません"
    assert states["urn:7"].startswith("XML として読めません")
    assert "169.254" not in "".join(site.hits)
    feed.refresh_from_db()
    assert feed.failures == 0 and feed.last_error.startswith("取り込めなかった項目が 7 件あります")

    # Next polls: only the transient failure is tried again, three times in all, then given up.
    for _ in range(3):
        site.hits.clear()
        feed_poll(feed)
        assert site.hits in (["/feed.xml", "/data/busy.xml"], ["/feed.xml"])
    busy = AlertFeedEntry.objects.get(entry_id="urn:6")
    assert (busy.state, busy.attempts) == (AlertFeedEntry.State.REFUSED, 3)


@pytest.mark.django_db(transaction=True)
def test_the_worker_polls_due_feeds_once_each_and_the_command_polls_all(site, rule, capsys):
    site.routes["/feed.xml"] = Reply(body=atom(("土砂災害警戒情報", "urn:jma:1", "/data/landslide.xml")))
    site.routes["/data/landslide.xml"] = Reply(body=LANDSLIDE)
    feed = feed_at("/feed.xml", interval_seconds=60)
    feed_at("/off.xml", is_active=False)
    assert "disaster.alert_feeds_poll" in {job.name for job in PERIODIC_JOBS}
    assert tick(jobs=[job for job in PERIODIC_JOBS if job.name == "disaster.alert_feeds_poll"]) == [
        "disaster.alert_feeds_poll"
    ]
    assert ScheduledJob.objects.get(name="disaster.alert_feeds_poll").last_error == ""
    assert feeds_enqueue_due() == 0  # claimed by the tick: not due again within its interval
    run_tasks()
    assert Alert.objects.count() == 1 and site.hits == ["/feed.xml", "/data/landslide.xml"]
    feed.refresh_from_db()
    assert feed.next_poll_at is not None and feed.last_ok_at is not None

    call_command("alerts", "poll")
    out = capsys.readouterr().out
    assert f"{feed.pk} feed /feed.xml ({site.base}/feed.xml): stored 0" in out
    assert "/off.xml" not in out and "/off.xml" not in site.hits
    site.routes["/feed.xml"] = Reply(body=b"not xml at all", content_type="application/xml")
    with pytest.raises(CommandError, match="1 feed"):
        call_command("alerts", "poll", "--feed", str(feed.pk))
    assert "XML として読めません" in capsys.readouterr().err
