"""Every call Madoguchi makes to LINE's Messaging API goes through here (line-bot-sdk v3).

- Each send is an OutboundRequest row written before the first attempt; its retry key is
  reused on every retry, so LINE carries a request out at most once. A 409 for a key LINE has
  already accepted counts as sent.
- 429 (rate limit) and 5xx back off and are tried again a few times; if they persist the
  failure is transient and the caller's task retries later with the same row and key.
- Refusals that will not get better (bad request, bad token, unknown user, monthly quota)
  are permanent and recorded as such.
- Replies use the reply token while it is fresh and fall back to push when it is not.

Tokens and message bodies are never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import urllib3
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from linebot.v3.insight import ApiClient as InsightApiClient
from linebot.v3.insight import Configuration as InsightConfiguration
from linebot.v3.insight import Insight as InsightApi
from linebot.v3.insight.exceptions import ApiException as InsightApiException
from linebot.v3.messaging import (
    ApiClient,
    BroadcastRequest,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from madoguchi.channels.base import (
    MULTICAST_MAX,
    ChannelError,
    Insight,
    OutboundMessage,
    Profile,
    Quota,
    Reply,
)
from madoguchi.channels.line.models import OutboundRequest
from madoguchi.channels.line.render import render_messages
from madoguchi.channels.line.tokens import token_for
from madoguchi.core.bulk import insert_new
from madoguchi.core.crypto import rotate, seal, unseal
from madoguchi.core.models import Channel

logger = logging.getLogger(__name__)

CONTENT_CHUNK = 64 * 1024
RETRY_KEY_NAMESPACE = uuid.UUID("6d61646f-6775-6368-6900-72657472796b")

_local = threading.local()


def messaging_api(channel: Channel) -> MessagingApi:
    """A MessagingApi for this channel, kept per thread so connections are reused."""
    token = token_for(channel)
    cache: dict[tuple[int, str], MessagingApi] = getattr(_local, "apis", None) or {}
    _local.apis = cache
    key = (channel.pk, token)
    if key not in cache:
        configuration = Configuration(host=settings.LINE_API_HOST, access_token=token)
        cache[key] = MessagingApi(ApiClient(configuration))
    return cache[key]


def _error_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or b"{}")
        return str(body.get("message", ""))[:500]
    except (ValueError, TypeError):
        return ""


def _header(headers: Any, name: str) -> str:
    if not headers:
        return ""
    for key, value in dict(headers).items():
        if key.lower() == name:
            return str(value)
    return ""


class ReplyTokenRejected(Exception):
    """LINE refused the reply token (used, expired or unknown): push instead."""


def _save(row: OutboundRequest, fields: list[str]) -> None:
    """Keep the row's state; a request whose caller keeps it (`recorded=False`) has no row."""
    if row.pk is not None:
        row.save(update_fields=fields)


def _deliver(channel: Channel, row: OutboundRequest, call: Callable[[MessagingApi], Any]) -> None:
    """Carry out one recorded request, with backoff on 429 and 5xx."""
    backoff = settings.LINE_BACKOFF_SECONDS
    for attempt in range(1, settings.LINE_SEND_ATTEMPTS + 1):
        row.attempts += 1
        if row.kind == OutboundRequest.Kind.REPLY:
            # A reply token is good once: a reply row tried before a crash is pushed instead
            # (`reply`), so its attempt is on record before the call. Other kinds resend under
            # their retry key, and count their attempts with the outcome.
            _save(row, ["attempts"])
        try:
            response = call(messaging_api(channel))
        except ApiException as exc:
            status = exc.status or 0
            message = _error_message(exc)
            row.last_status_code = status
            if status == 409 and row.kind != OutboundRequest.Kind.REPLY:
                # LINE already accepted a request with this retry key: it was sent.
                _mark_sent(row, _header(exc.headers, "x-line-accepted-request-id"))
                return
            if row.kind == OutboundRequest.Kind.REPLY and status == 400 and "reply token" in message.lower():
                row.error = message
                _save(row, ["attempts", "last_status_code", "error"])
                raise ReplyTokenRejected(message) from None
            quota_exhausted = status == 429 and "monthly limit" in message.lower()
            if (status == 429 or status >= 500) and not quota_exhausted:
                logger.warning(
                    "LINE %s %s answered %s (attempt %s)", row.kind, row.dedupe_key, status, attempt
                )
                row.error = f"HTTP {status}: {message}"
                _save(row, ["attempts", "last_status_code", "error"])
                time.sleep(backoff * 2 ** (attempt - 1))
                continue
            _mark_failed(row, f"HTTP {status}: {message}", permanent=True)
            raise ChannelError(message or f"HTTP {status}", permanent=True, status=status) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts and dropped connections: LINE may or may not have received it; the retry
            # key makes trying again safe.
            logger.warning(
                "LINE %s %s: %s (attempt %s)", row.kind, row.dedupe_key, type(exc).__name__, attempt
            )
            row.error = type(exc).__name__
            _save(row, ["attempts", "error"])
            time.sleep(backoff * 2 ** (attempt - 1))
            continue
        _mark_sent(row, _header(response.headers, "x-line-request-id"))
        return
    _mark_failed(row, row.error, permanent=False)
    raise ChannelError(row.error or "LINE did not answer", permanent=False, status=row.last_status_code)


def _mark_sent(row: OutboundRequest, request_id: str) -> None:
    row.status = OutboundRequest.Status.SENT
    row.sent_at = timezone.now()
    row.line_request_id = request_id
    row.error = ""
    _save(row, ["status", "sent_at", "line_request_id", "error", "last_status_code", "attempts"])


def _mark_failed(row: OutboundRequest, error: str, *, permanent: bool) -> None:
    row.status = (
        OutboundRequest.Status.PERMANENT_FAILURE if permanent else OutboundRequest.Status.TRANSIENT_FAILURE
    )
    row.error = error
    _save(row, ["status", "error", "last_status_code", "attempts"])


def _record(
    channel: Channel,
    *,
    kind: str,
    dedupe_key: str,
    recipients: list[str],
    messages: list[OutboundMessage],
    confidential: bool = False,
    retry_key: uuid.UUID | None = None,
) -> OutboundRequest:
    rendered = render_messages(messages)
    fields = {
        "channel": channel,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "recipients": recipients,
        "messages": _sealed(rendered) if confidential or channel.is_confidential else rendered,
        "retry_key": retry_key or uuid.uuid4(),
    }
    # Insert first: a repeat (a retried event, a batch resent after a crash) is the rare case, and
    # one INSERT is a third of get_or_create's round trips on the delivery fan-out's hot path.
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a repeat must not spoil the caller's transaction
                return OutboundRequest.objects.create(**fields)
        return OutboundRequest.objects.create(**fields)
    except IntegrityError:
        return OutboundRequest.objects.get(dedupe_key=dedupe_key)


def _sealed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a counselor wrote is stored encrypted; only the send unseals it."""
    return [{"sealed": seal(messages)}]


def _messages(row: OutboundRequest) -> list[dict[str, Any]]:
    if len(row.messages) == 1 and isinstance(row.messages[0].get("sealed"), str):
        messages: list[dict[str, Any]] = unseal(row.messages[0]["sealed"])
        return messages
    return row.messages


def _timeout() -> int:
    return settings.LINE_TIMEOUT_SECONDS


def _concurrently(send: Callable[[int], Exception | None], indexes: list[int]) -> list[Exception | None]:
    """`send` each index, LINE_REPLY_THREADS at a time on PostgreSQL: a reply waits a network round
    trip to LINE (tens of ms from a city's data centre), so one after another a worker would answer
    a burst a few dozen a second. Each thread closes its database connection when the batch is
    sent (as a delivery's senders do); SQLite (one writer) and a lone reply go one by one, here."""
    if len(indexes) < 2 or connection.vendor != "postgresql" or settings.LINE_REPLY_THREADS < 2:
        return [send(index) for index in indexes]

    threads = min(settings.LINE_REPLY_THREADS, len(indexes))
    shares = [indexes[start::threads] for start in range(threads)]

    def in_thread(share: list[int]) -> list[tuple[int, Exception | None]]:
        try:
            return [(index, send(index)) for index in share]
        finally:
            connection.close()

    with ThreadPoolExecutor(threads, thread_name_prefix="madoguchi-reply") as pool:
        outcomes = dict(pair for done in pool.map(in_thread, shares) for pair in done)
    return [outcomes[index] for index in indexes]


def _token_fresh(reply_token: str | None, received_at_ms: int | None) -> bool:
    """Is a reply token young enough to use (LINE's last about a minute)?"""
    if reply_token is None or not received_at_ms:
        return False
    return time.time() * 1000 - received_at_ms < settings.LINE_REPLY_TOKEN_SECONDS * 1000


def _push_together(channel: Channel, rendered: list[dict[str, Any]], replies: list[Reply]) -> None:
    """Push the same messages to the residents of `replies` in one multicast.

    Each answer keeps a request row of its own, written in one statement and keyed by its dedupe
    key, so an answer done again (its event retried) is not sent again; the rows of one multicast
    share its retry key (derived from their keys: the same group resent after a crash is refused
    by LINE as a repeat) and its outcome."""
    keys = [reply.dedupe_key for reply in replies]
    new = set(
        insert_new(
            [
                OutboundRequest(
                    channel=channel,
                    kind=OutboundRequest.Kind.MULTICAST,
                    dedupe_key=reply.dedupe_key,
                    recipients=[reply.user_id],
                    messages=rendered,
                )
                for reply in replies
            ],
            key="dedupe_key",
        )
    )
    unsent = new | set(
        OutboundRequest.objects.filter(dedupe_key__in=set(keys) - new)
        .exclude(status=OutboundRequest.Status.SENT)
        .values_list("dedupe_key", flat=True)
    )
    if not unsent:
        return
    group = [reply for reply in replies if reply.dedupe_key in unsent]
    retry_key = uuid.uuid5(RETRY_KEY_NAMESPACE, "\n".join(sorted(unsent)))
    # The call's state lives in this unsaved row; the answers' rows take its outcome below.
    row = OutboundRequest(
        channel=channel,
        kind=OutboundRequest.Kind.MULTICAST,
        dedupe_key=f"answers:{retry_key}",
        recipients=[reply.user_id for reply in group],
        messages=rendered,
        retry_key=retry_key,
    )
    request = MulticastRequest.from_dict({"to": row.recipients[:1], "messages": rendered})
    request.__dict__["to"] = list(row.recipients)  # our own ids: see `multicast`

    def call(api: MessagingApi) -> Any:
        return api.multicast_with_http_info(
            request, x_line_retry_key=str(retry_key), _request_timeout=_timeout()
        )

    try:
        _deliver(channel, row, call)
    finally:
        OutboundRequest.objects.filter(dedupe_key__in=unsent).update(
            retry_key=retry_key,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            error=row.error,
            line_request_id=row.line_request_id,
            sent_at=row.sent_at,
        )


def _push(channel: Channel, row: OutboundRequest) -> None:
    def call(api: MessagingApi) -> Any:
        request = PushMessageRequest.from_dict({"to": row.recipients[0], "messages": _messages(row)})
        return api.push_message_with_http_info(
            request, x_line_retry_key=str(row.retry_key), _request_timeout=_timeout()
        )

    _deliver(channel, row, call)


class LineTransport:
    """channels.base.Transport for LINE."""

    def reply(
        self,
        channel: Channel,
        *,
        reply_token: str | None,
        user_id: str,
        messages: list[OutboundMessage],
        dedupe_key: str,
        received_at_ms: int | None = None,
        confidential: bool = False,
    ) -> None:
        row = _record(
            channel,
            kind=OutboundRequest.Kind.REPLY,
            dedupe_key=dedupe_key,
            recipients=[user_id],
            messages=messages,
            confidential=confidential,
        )
        if row.status == OutboundRequest.Status.SENT:
            return
        # A reply row tried before (a worker died mid-call) may have used the token: push.
        if (
            _token_fresh(reply_token, received_at_ms)
            and row.kind == OutboundRequest.Kind.REPLY
            and row.attempts == 0
        ):

            def call(api: MessagingApi) -> Any:
                request = ReplyMessageRequest.from_dict(
                    {"replyToken": reply_token, "messages": _messages(row)}
                )
                return api.reply_message_with_http_info(request, _request_timeout=_timeout())

            try:
                _deliver(channel, row, call)
                return
            except ReplyTokenRejected:
                pass
        row.kind = OutboundRequest.Kind.PUSH
        _save(row, ["kind"])
        _push(channel, row)

    def reply_many(self, channel: Channel, replies: list[Reply]) -> list[Exception | None]:
        if channel.is_confidential:
            raise ValueError("a confidential channel's answers are sent one by one, sealed")
        outcomes: list[Exception | None] = [None] * len(replies)
        # Answers to push, by what they say: one multicast per MULTICAST_MAX of the same.
        to_push: dict[str, tuple[list[dict[str, Any]], list[int]]] = {}
        for index, answer in enumerate(replies):
            if not _token_fresh(answer.reply_token, answer.received_at_ms):
                rendered = render_messages(answer.messages)
                same = json.dumps(rendered, sort_keys=True, ensure_ascii=False)
                to_push.setdefault(same, (rendered, []))[1].append(index)
        together = [(rendered, indexes) for rendered, indexes in to_push.values() if len(indexes) > 1]
        pushed = {index for _rendered, indexes in together for index in indexes}

        def send_one(index: int) -> Exception | None:
            answer = replies[index]
            try:  # a fresh token: a reply of its own (free, and nothing to share); or pushed alone
                self.reply(
                    channel,
                    reply_token=answer.reply_token,
                    user_id=answer.user_id,
                    messages=answer.messages,
                    dedupe_key=answer.dedupe_key,
                    received_at_ms=answer.received_at_ms,
                )
            except Exception as exc:
                return exc
            return None

        one_by_one = [index for index in range(len(replies)) if index not in pushed]
        for index, outcome in zip(one_by_one, _concurrently(send_one, one_by_one), strict=True):
            outcomes[index] = outcome
        for rendered, indexes in together:
            for start in range(0, len(indexes), MULTICAST_MAX):
                chunk = indexes[start : start + MULTICAST_MAX]
                try:
                    _push_together(channel, rendered, [replies[index] for index in chunk])
                except Exception as exc:
                    for index in chunk:
                        outcomes[index] = exc
        return outcomes

    def push(
        self,
        channel: Channel,
        *,
        user_id: str,
        messages: list[OutboundMessage],
        dedupe_key: str,
        confidential: bool = False,
    ) -> None:
        row = _record(
            channel,
            kind=OutboundRequest.Kind.PUSH,
            dedupe_key=dedupe_key,
            recipients=[user_id],
            messages=messages,
            confidential=confidential,
        )
        if row.status != OutboundRequest.Status.SENT:
            _push(channel, row)

    def get_profile(self, channel: Channel, *, user_id: str) -> Profile | None:
        try:
            profile = messaging_api(channel).get_profile(user_id, _request_timeout=_timeout())
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ChannelError(
                f"profile lookup failed: HTTP {exc.status}",
                permanent=exc.status is not None and 400 <= exc.status < 500 and exc.status != 429,
                status=exc.status,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"profile lookup failed: {type(exc).__name__}") from None
        return Profile(
            user_id=profile.user_id,
            display_name=profile.display_name,
            picture_url=profile.picture_url,
            language=profile.language,
        )

    def get_content(self, channel: Channel, *, message_id: str) -> bytes | None:
        """Images and files, at most `LINE_CONTENT_MAX_BYTES`: a larger one (by its announced
        length, or as it arrives) is None, and the download stops there instead of being read
        to the end (the caller checks a file's announced size first too)."""
        host = (settings.LINE_DATA_HOST or settings.LINE_API_HOST).rstrip("/")
        configuration = Configuration(host=host, access_token=token_for(channel))
        api_client = ApiClient(configuration)
        url = f"{host}/v2/bot/message/{quote(message_id, safe='')}/content"
        headers = {
            "Authorization": f"Bearer {configuration.access_token}",
            "User-Agent": api_client.user_agent,
        }
        limit = settings.LINE_CONTENT_MAX_BYTES
        try:
            # The SDK's own HTTP client (its pool, proxy and TLS settings), without preloading:
            # the SDK's blob call reads the whole body before anyone can look at its size.
            response = api_client.rest_client.request(
                "GET", url, headers=headers, _preload_content=False, _request_timeout=_timeout()
            )
        except ApiException as exc:
            if exc.status in (404, 410):
                return None  # LINE keeps content for a limited time
            raise ChannelError(
                f"content download failed: HTTP {exc.status}",
                permanent=exc.status is not None and 400 <= exc.status < 500 and exc.status != 429,
                status=exc.status,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"content download failed: {type(exc).__name__}") from None
        try:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > limit:
                return None
            data = bytearray()
            for chunk in response.stream(CONTENT_CHUNK):
                data += chunk
                if len(data) > limit:
                    return None
            return bytes(data)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"content download failed: {type(exc).__name__}") from None
        finally:
            # Stopped early, the connection is closed (not drained into the pool).
            response.close()
            response.release_conn()

    def mark_read(self, channel: Channel, *, token: str) -> None:
        try:
            messaging_api(channel).mark_messages_as_read_by_token(
                MarkMessagesAsReadByTokenRequest(mark_as_read_token=token), _request_timeout=_timeout()
            )
        except ApiException as exc:
            # An expired token or a channel without manual read marking: the resident just
            # does not see 既読; nothing to retry.
            logger.info("mark-as-read refused: HTTP %s", exc.status)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"mark-as-read failed: {type(exc).__name__}") from None

    def multicast(
        self,
        channel: Channel,
        *,
        user_ids: list[str],
        messages: list[OutboundMessage],
        dedupe_key: str,
        aggregation_unit: str | None = None,
        recorded: bool = True,
    ) -> None:
        if not 1 <= len(user_ids) <= MULTICAST_MAX:
            raise ValueError(f"a multicast goes to 1..{MULTICAST_MAX} users, not {len(user_ids)}")
        # Derived from the dedupe key: even a row lost with a database that crashed before its
        # commit reached disk gives the same key again, so LINE still refuses a repeat.
        retry_key = uuid.uuid5(RETRY_KEY_NAMESPACE, dedupe_key)
        if recorded:
            row = _record(
                channel,
                kind=OutboundRequest.Kind.MULTICAST,
                dedupe_key=dedupe_key,
                recipients=user_ids,
                messages=messages,
                retry_key=retry_key,
            )
        else:
            # The caller's own row is the record (a delivery batch: two writes less a request on
            # the fan-out's hot path); this one lives only for the call.
            row = OutboundRequest(
                channel=channel,
                kind=OutboundRequest.Kind.MULTICAST,
                dedupe_key=dedupe_key,
                recipients=user_ids,
                messages=render_messages(messages),
                retry_key=retry_key,
            )
        if row.status == OutboundRequest.Status.SENT:
            return
        body: dict[str, Any] = {"to": row.recipients[:1], "messages": _messages(row)}
        if aggregation_unit:
            body["customAggregationUnits"] = [aggregation_unit]
        request = MulticastRequest.from_dict(body)
        # The SDK checks each of 500 ids one by one (pydantic), most of a send's time: they are
        # strings from our own database, so the list is set after the rest is checked.
        request.__dict__["to"] = list(row.recipients)

        def call(api: MessagingApi) -> Any:
            return api.multicast_with_http_info(
                request, x_line_retry_key=str(row.retry_key), _request_timeout=_timeout()
            )

        _deliver(channel, row, call)

    def broadcast(self, channel: Channel, *, messages: list[OutboundMessage], dedupe_key: str) -> str:
        row = _record(
            channel,
            kind=OutboundRequest.Kind.BROADCAST,
            dedupe_key=dedupe_key,
            recipients=[],
            messages=messages,
        )
        if row.status != OutboundRequest.Status.SENT:
            request = BroadcastRequest.from_dict({"messages": _messages(row)})

            def call(api: MessagingApi) -> Any:
                return api.broadcast_with_http_info(
                    request, x_line_retry_key=str(row.retry_key), _request_timeout=_timeout()
                )

            _deliver(channel, row, call)
        return row.line_request_id

    def message_quota(self, channel: Channel) -> Quota:
        api = messaging_api(channel)
        try:
            quota = api.get_message_quota(_request_timeout=_timeout())
            used = api.get_message_quota_consumption(_request_timeout=_timeout())
        except ApiException as exc:
            raise ChannelError(f"quota: HTTP {exc.status}", status=exc.status) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"quota: {type(exc).__name__}") from None
        limit = quota.value if quota.type == "limited" else None
        return Quota(limit=limit, used=used.total_usage)

    def delivery_insight(
        self,
        channel: Channel,
        *,
        sent_on: date,
        request_id: str | None = None,
        aggregation_unit: str | None = None,
    ) -> Insight | None:
        configuration = InsightConfiguration(host=settings.LINE_API_HOST, access_token=token_for(channel))
        api = InsightApi(InsightApiClient(configuration))
        try:
            if request_id:
                event = api.get_message_event(request_id, _request_timeout=_timeout())
                overview = event.overview
                if overview is None:
                    return None
                return Insight(
                    delivered=overview.delivered,
                    opened=overview.unique_impression,
                    clicked=overview.unique_click,
                )
            if aggregation_unit:
                day = sent_on.strftime("%Y%m%d")
                last = (sent_on + timedelta(days=30)).strftime("%Y%m%d")
                unit = api.get_statistics_per_unit(aggregation_unit, day, last, _request_timeout=_timeout())
                return Insight(
                    delivered=None,
                    opened=unit.overview.unique_impression,
                    clicked=unit.overview.unique_click,
                )
        except InsightApiException as exc:
            raise ChannelError(f"insight: HTTP {exc.status}", status=exc.status) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ChannelError(f"insight: {type(exc).__name__}") from None
        return None


def requests_rotate_keys(batch: int = 500) -> int:
    """Sealed messages re-encrypted with the current key (`madoguchi rotate_keys`)."""
    count = 0
    for row in OutboundRequest.objects.only("pk", "messages").iterator(chunk_size=batch):
        if len(row.messages) == 1 and isinstance(row.messages[0].get("sealed"), str):
            row.messages = [{"sealed": rotate(row.messages[0]["sealed"])}]
            _save(row, ["messages"])
            count += 1
    return count


def requests_purge_before(cutoff: datetime) -> int:
    """Retention: outbound requests made before `cutoff` (their messages included)."""
    count, _ = (
        OutboundRequest.objects.filter(created_at__lt=cutoff)
        .exclude(status=OutboundRequest.Status.PENDING)
        .delete()
    )
    return count
