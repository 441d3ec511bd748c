"""linesim under test: the real app served by uvicorn on a free port, and a tiny bot that
records the webhooks it receives (so signatures and envelopes are checked as a bot sees them)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn

from linesim.app import Config, create_app

SECRET = "test-secret"
TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bot:
    """Records webhook posts; answers with `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 200
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                bot.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(bot.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [event for body, _ in self.received for event in json.loads(body)["events"]]


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    bot = Bot()
    yield bot
    bot.server.shutdown()


@pytest.fixture(scope="session")
def sim_url(bot: Bot) -> Iterator[str]:
    port = free_port()
    config = Config(
        port=port, channel_secret=SECRET, access_token=TOKEN, webhook_url=bot.url, reply_token_ttl=60
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/_sim/stats", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def sim(sim_url: str, bot: Bot) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=sim_url, timeout=10)
    client.post("/_sim/reset")
    client.delete("/_sim/faults")
    client.post("/_sim/config", json={"replyTokenTtl": 60, "rateLimits": True, "quota": 200000})
    bot.received.clear()
    bot.status = 200
    yield client
    client.close()


@pytest.fixture
def line(sim: httpx.Client) -> httpx.Client:
    """A client authenticated as the default channel's bot."""
    return httpx.Client(base_url=str(sim.base_url), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
