"""Everything linesim remembers, in memory: channels, users and what they received, tokens,
retry keys, rich menus, faults and counters. One lock guards it (the server is single-process).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID (time-ordered, 26 characters), as LINE's webhookEventId looks."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@dataclass
class SimChannel:
    channel_id: str
    secret: str
    webhook_url: str
    bot_user_id: str
    access_tokens: set[str] = field(default_factory=set)
    public_key: dict[str, Any] | None = None
    kid: str | None = None


@dataclass
class SimUser:
    user_id: str
    display_name: str
    language: str = "ja"
    picture_url: str | None = None
    friend: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    rich_menu_id: str | None = None


@dataclass
class Fault:
    path: str
    method: str
    status: int | None
    count: int
    delay: float
    after: bool


# Per-channel, per-endpoint limits (PLATFORM-FACTS §3): (requests, window seconds).
RATE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /v2/bot/message/multicast": (200, 1.0),
    "POST /v2/bot/message/narrowcast": (60, 3600.0),
    "POST /v2/bot/message/broadcast": (60, 3600.0),
    "GET /v2/bot/insight/message/event": (60, 3600.0),
    "POST /v2/bot/richmenu": (100, 3600.0),
    "DELETE /v2/bot/richmenu/{richMenuId}": (100, 3600.0),
    "DELETE /v2/bot/richmenu/alias/{richMenuAliasId}": (100, 3600.0),
    "GET /v2/bot/richmenu/progress/batch": (100, 3600.0),
    "POST /v2/bot/richmenu/batch": (3, 3600.0),
    "POST /v2/bot/chat/loading/start": (100, 1.0),
    "POST /oauth2/v2.1/token": (370, 1.0),
}
DEFAULT_RATE_LIMIT = (2000, 1.0)


class State:
    def __init__(self, *, reply_token_ttl: float, rate_limits: bool):
        self.lock = threading.RLock()
        self.channels: dict[str, SimChannel] = {}
        self.default_channel_id = ""
        self.reply_token_ttl = reply_token_ttl
        self.rate_limits = rate_limits
        self.quota = 200_000
        self.users: dict[str, SimUser] = {}
        self.reply_tokens: dict[str, tuple[str, str, float, bool]] = {}  # token → channel, user, expiry, used
        self.retry_keys: dict[tuple[str, str], tuple[str, list[dict[str, str]]]] = {}
        self.contents: dict[str, bytes] = {}
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, tuple[bytes, str]] = {}
        self.default_rich_menu: dict[str, str] = {}  # channel → rich menu id
        self.rich_menu_aliases: dict[str, str] = {}  # alias → rich menu id
        self.v21_tokens: dict[str, tuple[str, float]] = {}  # token → channel, expiry
        self.id_tokens: dict[str, dict[str, Any]] = {}
        self.liff_apps: dict[str, dict[str, Any]] = {}  # LIFF id → app (kept across reset, as channels)
        self.requests: dict[str, dict[str, Any]] = {}  # request id → what was sent (insight, narrowcast)
        self.units: dict[str, int] = {}  # custom aggregation unit → recipients (insight)
        # Insight's "opened": which request / unit each delivered message record belongs to, and
        # who displayed one (the phone page, or GET /_sim/users/{id}/messages?seen=1).
        self.origins: dict[str, tuple[str, str | None]] = {}  # message id → (request id, unit)
        self.opened: dict[str, set[str]] = defaultdict(set)  # "request:<id>" | "unit:<name>" → users
        self.faults: list[Fault] = []
        self.windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.endpoint_stats: dict[str, dict[str, Any]] = {}
        self.sent_this_month = 0
        self.webhook_events: dict[str, dict[str, Any]] = {}  # for redelivery

    # channels and users

    def add_channel(self, channel: SimChannel) -> None:
        with self.lock:
            self.channels[channel.channel_id] = channel
            if not self.default_channel_id:
                self.default_channel_id = channel.channel_id

    def channel_for_token(self, token: str) -> SimChannel | None:
        with self.lock:
            for channel in self.channels.values():
                if token in channel.access_tokens:
                    return channel
            issued = self.v21_tokens.get(token)
            if issued and issued[1] > time.time():
                return self.channels.get(issued[0])
        return None

    def user(self, user_id: str) -> SimUser:
        with self.lock:
            if user_id not in self.users:
                self.users[user_id] = SimUser(user_id=user_id, display_name=f"住民 {user_id[-4:]}")
            return self.users[user_id]

    def deliver(self, user_id: str, messages: list[dict[str, Any]], via: str) -> list[dict[str, str]]:
        """Record messages as received by a user; return LINE's sentMessages."""
        sent = []
        with self.lock:
            user = self.user(user_id)
            for message in messages:
                message_id = str(secrets.randbelow(10**17) + 10**17)
                user.received.append({**message, "via": via, "at": now_iso(), "id": message_id})
                sent.append({"id": message_id, "quoteToken": secrets.token_urlsafe(16)})
            if via != "reply":  # replies are free; the rest count once per recipient
                self.sent_this_month += 1
        return sent

    def deliver_many(
        self, user_ids: list[str], messages: list[dict[str, Any]], via: str
    ) -> tuple[int, list[str]]:
        """Record the same messages as received by many users (multicast, broadcast): one record
        per message shared by all of them, so a million recipients cost a million list appends.
        Returns how many received them and the records' message ids."""
        at = now_iso()
        records = [
            {**message, "via": via, "at": at, "id": str(secrets.randbelow(10**17) + 10**17)}
            for message in messages
        ]
        with self.lock:
            for user_id in user_ids:
                self.user(user_id).received.extend(records)
            self.sent_this_month += len(user_ids)  # per recipient, however many bubbles
        return len(user_ids), [record["id"] for record in records]

    def aggregate(self, unit: str, recipients: int) -> None:
        with self.lock:
            self.units[unit] = self.units.get(unit, 0) + recipients

    def track(self, message_ids: list[str], request_id: str, unit: str | None) -> None:
        """Remember which request (and aggregation unit) these message records were sent under."""
        with self.lock:
            for message_id in message_ids:
                self.origins[message_id] = (request_id, unit)

    def seen(self, user_id: str) -> None:
        """The user's chat displayed everything they received: insight counts them as opened."""
        with self.lock:
            user = self.users.get(user_id)
            for record in user.received if user else []:
                origin = self.origins.get(record.get("id", ""))
                if origin is not None:
                    self.opened["request:" + origin[0]].add(user_id)
                    if origin[1]:
                        self.opened["unit:" + origin[1]].add(user_id)

    def opened_count(self, key: str) -> int:
        with self.lock:
            return len(self.opened.get(key, ()))

    # reply tokens

    def issue_reply_token(self, channel_id: str, user_id: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.reply_tokens[token] = (channel_id, user_id, time.time() + self.reply_token_ttl, False)
        return token

    def use_reply_token(self, channel_id: str, token: str) -> str | None:
        """The user the token answers, once; None when unknown, used or expired."""
        with self.lock:
            entry = self.reply_tokens.get(token)
            if entry is None or entry[0] != channel_id or entry[3] or entry[2] < time.time():
                return None
            self.reply_tokens[token] = (entry[0], entry[1], entry[2], True)
            return entry[1]

    # faults, limits and counters

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path == path and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    def rate_limited(self, channel_id: str, endpoint: str) -> bool:
        if not self.rate_limits:
            return False
        limit, window = RATE_LIMITS.get(endpoint, DEFAULT_RATE_LIMIT)
        now = time.monotonic()
        with self.lock:
            calls = self.windows[(channel_id, endpoint)]
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                return True
            calls.append(now)
        return False

    def count(self, endpoint: str, status: int) -> None:
        with self.lock:
            entry = self.endpoint_stats.setdefault(endpoint, {"requests": 0, "statuses": {}})
            entry["requests"] += 1
            entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1

    def received_summary(self) -> dict[str, Any]:
        """How many friends received how many messages: {"0": n, "1": n, "2": n …}. Benchmarks use
        it to prove no duplicate and no miss over a million users without listing them."""
        with self.lock:
            histogram: dict[str, int] = {}
            for user in self.users.values():
                if user.friend:
                    key = str(len(user.received))
                    histogram[key] = histogram.get(key, 0) + 1
            return {"friends": sum(histogram.values()), "received": histogram}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            users = {uid: {"received": len(u.received)} for uid, u in self.users.items() if u.received}
            return {
                "endpoints": {
                    key: {"requests": v["requests"], "statuses": dict(v["statuses"])}
                    for key, v in self.endpoint_stats.items()
                },
                "users": users,
                "messages": sum(len(u.received) for u in self.users.values()),
            }

    def reset(self, *, users: bool = False) -> None:
        """Forget what was sent (and, with `users`, every user too)."""
        with self.lock:
            if users:
                self.users.clear()
            for user in self.users.values():
                user.received.clear()
                user.rich_menu_id = None
            self.rich_menus.clear()
            self.rich_menu_images.clear()
            self.rich_menu_aliases.clear()
            self.default_rich_menu.clear()
            self.faults.clear()
            self.windows.clear()
            self.endpoint_stats.clear()
            self.retry_keys.clear()
            self.reply_tokens.clear()
            self.sent_this_month = 0
            self.requests.clear()
            self.units.clear()
            self.origins.clear()
            self.opened.clear()


def request_id() -> str:
    return str(uuid.uuid4())
