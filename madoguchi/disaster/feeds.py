"""Polling alert feeds: an Atom feed whose entries link to alert documents (気象庁's 高頻度フィード
`https://www.data.jma.go.jp/developer/xml/feed/extra.xml`), or one CAP / 気象庁防災情報XML URL.

Everything fetched is outside input. A fetch is http(s) only, conditional (If-None-Match /
If-Modified-Since from the last answer), follows at most `MAX_REDIRECTS` redirects, refuses a
content type that is not XML, a body over its limit (declared or counted) and a server slower
than `MADOGUCHI_ALERT_FEED_TIMEOUT_SECONDS` from the first byte to the last (a server that drips a
byte at a time is cut off too). Feeds and entries go through the same hardened parse as a file
(`alerts.safe_root`: defusedxml first, then lxml without entities, network or DTD), and an entry's
document through `intake.alert_ingest` like any file. An entry is fetched once, keyed by its
`atom:id` (`AlertFeedEntry`); only links to the feed's own origin are followed, so a feed cannot
make the server fetch from elsewhere (its intranet, say). Failures are kept on the feed for the
console, and logged, with the URL's user, password and query left out (they may hold a key).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from lxml import etree

from madoguchi.disaster.alerts import MAX_BYTES, AlertRefused, jma_kind, safe_root
from madoguchi.disaster.intake import alert_ingest
from madoguchi.disaster.models import Alert, AlertFeed, AlertFeedEntry

logger = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
MAX_FEED_BYTES = 2_000_000
MAX_REDIRECTS = 3
MAX_ENTRIES = 100  # the newest ones of one poll; 気象庁's feeds hold a few minutes' worth
ENTRY_ATTEMPTS = 3  # transient failures (timeout, 5xx) of one entry before it is given up
KEEP_ENTRIES = timedelta(days=14)  # feeds hold minutes to days; alerts are deduplicated anyway
USER_AGENT = "Madoguchi alert intake"

Origin = tuple[str, str, int | None]  # scheme, host, port


class FetchFailed(Exception):
    """A fetch that did not give a document; `transient` when trying again later may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass
class Fetched:
    status: int  # 200, or 304 (not modified)
    body: bytes = b""
    url: str = ""  # after redirects
    etag: str = ""
    last_modified: str = ""


@dataclass
class PollResult:
    not_modified: bool = False
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    retry: int = 0
    skipped: int = 0
    error: str = ""
    deliveries: int = 0
    messages: list[str] = field(default_factory=list)


def redacted(url: str) -> str:
    """The URL without user, password, query or fragment: fit for a log line or a page."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _is_xml(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def fetch_limited(
    url: str,
    *,
    max_bytes: int,
    etag: str = "",
    last_modified: str = "",
    allowed: set[Origin] | None = None,
) -> Fetched:
    """GET with the limits above; raises FetchFailed with a Japanese reason (no URL in it).
    With `allowed`, the URL and every redirect must stay on those origins."""
    if not url.startswith(("http://", "https://")):
        raise FetchFailed("http:// か https:// の URL だけを取得できます")

    def stay_on_origin(request: httpx.Request) -> None:
        if allowed is not None and _origin(str(request.url)) not in allowed:
            raise FetchFailed("フィードと別のホストへは取得しに行きません")

    limit = float(settings.MADOGUCHI_ALERT_FEED_TIMEOUT_SECONDS)
    headers = {
        "user-agent": USER_AGENT,
        "accept": "application/atom+xml, application/xml, text/xml",
        "accept-encoding": "identity",
    }
    if etag:
        headers["if-none-match"] = etag
    if last_modified:
        headers["if-modified-since"] = last_modified
    started = time.monotonic()
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(limit, connect=min(limit, 5.0)),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                trust_env=False,  # no proxy or netrc credentials from the environment
                event_hooks={"request": [stay_on_origin]},
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 304:
                return Fetched(304, url=str(response.url), etag=etag, last_modified=last_modified)
            if response.status_code != 200:
                raise FetchFailed(
                    f"取得できませんでした(HTTP {response.status_code})",
                    transient=response.status_code >= 500 or response.status_code == 429,
                )
            content_type = response.headers.get("content-type", "")
            if content_type and not _is_xml(content_type):
                raise FetchFailed(f"XML ではない内容です(Content-Type: {content_type[:60]})")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(f"大きすぎます({int(declared):,} バイト、上限 {max_bytes:,})")
            if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
                raise FetchFailed("圧縮された応答は受け付けません")  # asked for identity: no gzip bomb
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"大きすぎます(上限 {max_bytes:,} バイト)")
                if time.monotonic() - started > limit:
                    raise FetchFailed(f"{limit:.0f} 秒以内に取得を終えられませんでした", transient=True)
                chunks.append(chunk)
            body = b"".join(chunks)
            return Fetched(
                200,
                body=body,
                url=str(response.url),
                etag=response.headers.get("etag", "")[:200],
                last_modified=response.headers.get("last-modified", "")[:100],
            )
    except httpx.TooManyRedirects:
        raise FetchFailed(f"転送(リダイレクト)が {MAX_REDIRECTS} 回を超えました") from None
    except httpx.TimeoutException:
        raise FetchFailed(f"{limit:.0f} 秒以内に応答がありませんでした", transient=True) from None
    except httpx.UnsupportedProtocol:
        raise FetchFailed("http:// か https:// の URL だけを取得できます") from None
    except httpx.HTTPError as error:
        raise FetchFailed(f"取得できませんでした({type(error).__name__})", transient=True) from None


@dataclass
class Entry:
    entry_id: str
    title: str
    url: str


def parse_atom(root: etree._Element, base_url: str) -> list[Entry]:
    """The entries of an Atom feed (already through `safe_root`), newest first as feeds list them.
    An entry's document is its link typed XML, else its alternate link, else an http(s) id."""
    ns = {"a": ATOM}
    entries = []
    for element in root.findall("a:entry", ns)[:MAX_ENTRIES]:
        entry_id = (element.findtext("a:id", "", ns) or "").strip()
        title = (element.findtext("a:title", "", ns) or "").strip()
        links = element.findall("a:link", ns)
        href = next((link.get("href", "") for link in links if "xml" in (link.get("type") or "")), "")
        href = href or next(
            (link.get("href", "") for link in links if link.get("rel", "alternate") == "alternate"), ""
        )
        if not href and entry_id.startswith(("http://", "https://")):
            href = entry_id
        if entry_id and href:
            entries.append(Entry(entry_id[:500], title[:200], urljoin(base_url, href.strip())))
    return entries


def _failed(feed: AlertFeed, message: str) -> None:
    now = timezone.now()
    AlertFeed.objects.filter(pk=feed.pk).update(
        last_polled_at=now, last_error=message[:500], last_error_at=now, failures=F("failures") + 1
    )
    logger.warning("alert feed %s (%s) failed: %s", feed.pk, redacted(feed.url), message)


def feed_poll(feed: AlertFeed) -> PollResult:
    """One pass over a feed: fetch it (conditionally), ingest its new entries (or the document
    itself), record the outcome on the feed. Never raises for what a feed sends."""
    result = PollResult()
    try:
        fetched = fetch_limited(
            feed.url, max_bytes=MAX_FEED_BYTES, etag=feed.etag, last_modified=feed.last_modified
        )
    except FetchFailed as failed:
        result.error = failed.message
        _failed(feed, failed.message)
        return result
    now = timezone.now()
    if fetched.status == 304:
        result.not_modified = True
        AlertFeed.objects.filter(pk=feed.pk).update(last_polled_at=now, last_ok_at=now, failures=0)
        return result
    try:
        root = safe_root(fetched.body)
        if etree.QName(root).namespace == ATOM and etree.QName(root).localname == "feed":
            kind = AlertFeed.Kind.ATOM
            allowed = {_origin(feed.url), _origin(fetched.url)}  # also where the feed redirected
            _poll_entries(feed, parse_atom(root, fetched.url), result, allowed=allowed)
        else:  # the URL is one alert document
            kind = AlertFeed.Kind.DOCUMENT
            _ingest(fetched.body, feed, feed.url, result)
    except AlertRefused as refused:
        result.error = str(refused)
        _failed(feed, result.error)
        return result
    # Validators are kept only once the feed was read through: a poll cut short reads it again.
    cut_short = any(m.startswith("時間内に") for m in result.messages)
    AlertFeed.objects.filter(pk=feed.pk).update(
        etag="" if cut_short else fetched.etag,
        last_modified="" if cut_short else fetched.last_modified,
        last_polled_at=now,
        last_ok_at=now,
        kind=kind,
        failures=0,
        last_error=result.error[:500],
        last_error_at=now if result.error else None,
    )
    if result.error:
        logger.warning("alert feed %s (%s): %s", feed.pk, redacted(feed.url), result.error)
    return result


def _ingest(data: bytes, feed: AlertFeed, url: str, result: PollResult) -> None:
    ingested = alert_ingest(data, origin=redacted(url))
    result.deliveries += len(ingested.deliveries)
    if ingested.created:
        result.stored += 1
    else:
        result.duplicates += 1


@dataclass
class Outcome:
    state: str
    error: str = ""
    alert: Alert | None = None
    deliveries: int = 0


def _entry_outcome(entry: Entry, allowed: set[Origin]) -> Outcome:
    if _origin(entry.url) not in allowed:
        return Outcome(AlertFeedEntry.State.REFUSED, "フィードと別のホストを指すリンクは取得しません")
    try:
        fetched = fetch_limited(entry.url, max_bytes=MAX_BYTES, allowed=allowed)
    except FetchFailed as failed:
        state = AlertFeedEntry.State.RETRY if failed.transient else AlertFeedEntry.State.REFUSED
        return Outcome(state, failed.message)
    try:
        ingested = alert_ingest(fetched.body, origin=redacted(entry.url))
    except AlertRefused as refused:
        return Outcome(AlertFeedEntry.State.REFUSED, str(refused))
    state = AlertFeedEntry.State.STORED if ingested.created else AlertFeedEntry.State.DUPLICATE
    return Outcome(state, alert=ingested.alert, deliveries=len(ingested.deliveries))


def _poll_entries(feed: AlertFeed, entries: list[Entry], result: PollResult, *, allowed: set[Origin]) -> None:
    deadline = time.monotonic() + settings.MADOGUCHI_ALERT_FEED_POLL_SECONDS
    done = set(
        AlertFeedEntry.objects.filter(feed=feed, entry_id__in=[e.entry_id for e in entries])
        .exclude(state=AlertFeedEntry.State.RETRY)
        .values_list("entry_id", flat=True)
    )
    for entry in entries:
        if entry.entry_id in done:
            continue
        if feed.known_kinds_only and jma_kind(entry.title) is None:
            result.skipped += 1  # 府県天気予報 and the like: nothing a rule could use
            continue
        if time.monotonic() > deadline:
            result.messages.append("時間内に読み切れなかった項目は次の取得で読みます")
            break
        row, _ = AlertFeedEntry.objects.get_or_create(
            feed=feed,
            entry_id=entry.entry_id,
            defaults={"url": entry.url[:500], "title": entry.title, "state": AlertFeedEntry.State.RETRY},
        )
        if row.state != AlertFeedEntry.State.RETRY:
            continue  # another worker took it meanwhile
        outcome = _entry_outcome(entry, allowed)
        row.attempts += 1
        if outcome.state == AlertFeedEntry.State.RETRY and row.attempts >= ENTRY_ATTEMPTS:
            outcome.state = AlertFeedEntry.State.REFUSED
        result.deliveries += outcome.deliveries
        if outcome.state == AlertFeedEntry.State.STORED:
            result.stored += 1
        elif outcome.state == AlertFeedEntry.State.DUPLICATE:
            result.duplicates += 1
        elif outcome.state == AlertFeedEntry.State.RETRY:
            result.retry += 1
        else:
            result.refused += 1
        if outcome.error:
            result.messages.append(f"{redacted(entry.url)}: {outcome.error}")
            logger.warning("alert feed %s entry %s: %s", feed.pk, redacted(entry.url), outcome.error)
        row.state, row.error, row.alert = outcome.state, outcome.error[:500], outcome.alert
        row.fetched_at = timezone.now()
        row.save(update_fields=["state", "error", "alert", "attempts", "fetched_at"])
    if result.refused or result.retry:
        result.error = f"取り込めなかった項目が {result.refused + result.retry} 件あります"
        result.error += f"(最後: {result.messages[-1]})" if result.messages else ""


def feeds_purge_entries() -> int:
    """Forget entries older than KEEP_ENTRIES (the feeds no longer list them)."""
    deleted, _ = AlertFeedEntry.objects.filter(seen_at__lt=timezone.now() - KEEP_ENTRIES).delete()
    return deleted
