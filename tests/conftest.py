"""Shared fixtures: a real linesim over HTTP, Madoguchi's live server, the demo channel, a worker.

linesim runs as its own process (as LINE would); Madoguchi's web server is pytest-django's live
server, which linesim posts webhooks to. Tasks run in a real django-tasks-db worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings
from django_tasks_db.management.commands.db_worker import Worker

from madoguchi.chatbot.models import Keyword
from madoguchi.core.models import Channel
from madoguchi.core.worker import task_worker

# The live server on 127.0.0.1, where linesim runs too: linesim's phone page frames LIFF pages, and
# their cookies (SameSite=Lax) are sent in the frame only when both are the same site.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

SIM_CHANNEL_ID = "2000000001"
SIM_SECRET = "linesim-demo-secret"
SIM_TOKEN = "linesim-demo-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign(body: bytes, secret: str = SIM_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Sim:
    """linesim's control API, as tests use it."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def send(self, user_id: str, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.http.post(f"/_sim/users/{user_id}/send", json={**event, **extra})
        response.raise_for_status()
        return response.json()

    def text(self, user_id: str, text: str, **extra: Any) -> dict[str, Any]:
        return self.send(user_id, {"type": "message", "message": {"type": "text", "text": text}}, **extra)

    def messages(self, user_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/_sim/users/{user_id}/messages")
        response.raise_for_status()
        return response.json()

    def fault(self, **fault: Any) -> None:
        self.http.post("/_sim/faults", json=fault).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return self.http.get("/_sim/stats").json()

    def reset(self) -> None:
        self.http.post("/_sim/reset").raise_for_status()
        self.http.delete("/_sim/faults").raise_for_status()

    def configure(self, **config: Any) -> None:
        self.http.post("/_sim/config", json=config).raise_for_status()

    def set_profile(self, user_id: str, **profile: Any) -> None:
        self.http.put(f"/_sim/users/{user_id}", json=profile).raise_for_status()

    def id_token(self, user_id: str, client_id: str, **extra: Any) -> str:
        """An ID token as LINE Login gives a LIFF app (extra: expiresIn, nonce)."""
        response = self.http.post(f"/_sim/users/{user_id}/id-token", json={"clientId": client_id, **extra})
        response.raise_for_status()
        return str(response.json()["idToken"])

    def liff_app(self, liff_id: str, channel_id: str, endpoint_url: str) -> None:
        app = {"liffId": liff_id, "channelId": channel_id, "endpointUrl": endpoint_url}
        self.http.post("/_sim/liff/apps", json=app).raise_for_status()


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Counters kept in Django's cache (sign-in brakes) start at zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """PBKDF2's deliberate slowness (the point in production) costs ~0.3 s for every staff member
    a test creates; the hasher is Django's, not ours, so tests use a fast one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def linesim_process(live_server: Any) -> Iterator[Sim]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linesim",
            "--port",
            str(port),
            "--webhook-url",
            f"{live_server.url}/line/main/webhook",
        ]
    )
    sim = Sim(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            sim.http.get("/_sim/stats").raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("linesim did not start") from None
            time.sleep(0.1)
    yield sim
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sim(linesim_process: Sim, settings: Any) -> Sim:
    linesim_process.reset()
    linesim_process.configure(replyTokenTtl=60, rateLimits=True)
    settings.LINE_API_HOST = linesim_process.url
    settings.LINE_BACKOFF_SECONDS = 0.05
    settings.EVENT_RETRY_SECONDS = 0
    return linesim_process


@pytest.fixture
def channel(transactional_db: None) -> Channel:
    """The demo channel (linesim's default) and two staff-defined keywords."""
    channel = Channel.objects.create(
        slug="main",
        name="みどり市公式",
        provider_channel_id=SIM_CHANNEL_ID,
        channel_secret=SIM_SECRET,
        access_token=SIM_TOKEN,
    )
    Keyword.objects.create(phrase="ヘルプ", reply_text="知りたいことを短い言葉で送ってください。")
    Keyword.objects.create(
        phrase="こんにちは", match=Keyword.Match.CONTAINS, reply_text="こんにちは。ご用件をどうぞ。"
    )
    return channel


LOGIN_CHANNEL_ID = "2000000101"
LIFF_ID = "2000000101-testliff"


@pytest.fixture
def liff_channel(channel: Channel) -> Channel:
    """The demo channel with its LIFF app (on a LINE Login channel), and みどり市's districts and
    interests to register."""
    from madoguchi.demo.setup import DEMO_DISTRICTS, DEMO_INTERESTS
    from madoguchi.residents.models import District, Interest

    channel.login_channel_id = LOGIN_CHANNEL_ID
    channel.liff_id = LIFF_ID
    channel.save(update_fields=["login_channel_id", "liff_id"])
    for order, (code, name, english) in enumerate(DEMO_DISTRICTS):
        District.objects.create(code=code, name=name, names_by_language={"en": english}, sort_order=order)
    for order, (code, name, english) in enumerate(DEMO_INTERESTS):
        Interest.objects.create(code=code, name=name, names_by_language={"en": english}, sort_order=order)
    return channel


def run_tasks() -> None:
    """Process every waiting inbound event and run every task that is ready, in this process
    (with django-tasks-db's own worker), until neither is left: what `madoguchi worker` does."""
    while True:
        events_drain()
        task_worker(interval=0, batch=True, worker_id="pytest").run()
        if not events_drain():  # else those events may have queued tasks: once more
            return


def events_drain() -> int:
    """Claim and process waiting inbound events until none is due; return how many."""
    from madoguchi.channels.line.inbound import events_claim, events_process

    count = 0
    while claimed := events_claim(settings.EVENT_BATCH):
        events_process(claimed)
        count += len(claimed)
    return count


@pytest.fixture
def background_worker(channel: Channel) -> Iterator[Worker]:
    """A worker polling in a thread, as `madoguchi worker` does, for tests that wait on answers."""
    from django.db import connection

    from madoguchi.channels.line.inbound import events_loop

    worker = task_worker(interval=0.1, worker_id="pytest-thread")
    stop = threading.Event()

    def run() -> None:
        try:
            worker.run()
        finally:
            connection.close()

    def inbound() -> None:
        try:
            events_loop(stop, 0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, daemon=True), threading.Thread(target=inbound, daemon=True)]
    for thread in threads:
        thread.start()
    yield worker
    worker.running = False
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


def wait_for(predicate: Any, timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def post_webhook(url: str, body: dict[str, Any] | bytes, signature: str | None = "sign") -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if signature == "sign":
        headers["x-line-signature"] = sign(raw)
    elif signature is not None:
        headers["x-line-signature"] = signature
    return httpx.post(url, content=raw, headers=headers, timeout=10)
