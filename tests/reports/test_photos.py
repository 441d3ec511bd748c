"""Photos that are too large, at the real limits: a 30 MB picture through LINE's content API
(linesim), and a download that stops once it passes the limit instead of reading to the end."""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from madoguchi.channels.base import transport_for
from madoguchi.chatbot.models import FlowState
from madoguchi.reports.models import Photo, Report
from tests.conftest import run_tasks
from tests.reports.conftest import jpeg, last_text, send_photo, tap

USER = "U" + "8" * 32


def thirty_megabyte_photo() -> bytes:
    """A real picture of about 30 MB: a PNG of noise (noise does not compress)."""
    side = 3200  # 10 million pixels: far below the pixel limit, so the size is what counts
    noise = Image.frombytes("RGB", (side, side), random.Random(30).randbytes(side * side * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=1)
    data = out.getvalue()
    assert 30_000_000 < len(data) < 35_000_000
    return data


def test_a_thirty_megabyte_photo_from_line_is_refused_at_the_real_limit(sim, channel, categories, settings):
    assert settings.LINE_CONTENT_MAX_BYTES == settings.REPORTS_PHOTO_MAX_BYTES == 10_000_000  # the defaults
    sim.set_profile(USER, displayName="大塚 聡", language="ja")
    sim.send(USER, {"type": "follow"})
    sim.text(USER, "不具合")
    run_tasks()
    tap(sim, USER, "道路")
    run_tasks()
    send_photo(sim, USER, thirty_megabyte_photo())
    run_tasks()
    assert "写真を受け取れませんでした (10 MB までの写真を送ってください)" in last_text(sim, USER, 2)
    assert not Photo.objects.exists() and FlowState.objects.get().step == "photo"
    # Nothing is lost: the next photo (of a sensible size) is taken.
    send_photo(sim, USER, jpeg())
    run_tasks()
    assert "(1/3 枚)" in last_text(sim, USER)
    assert Report.objects.get().photos.count() == 1


class EndlessContent(BaseHTTPRequestHandler):
    """LINE's content endpoint serving a body without a length, far larger than any limit;
    it counts what it managed to send before the client hung up."""

    protocol_version = "HTTP/1.0"  # the body ends when the connection does: no Content-Length
    total = 200_000_000
    sent = 0
    body = b""

    def do_GET(self) -> None:
        type(self).sent = 0
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        if self.body:
            self.wfile.write(self.body)
            type(self).sent = len(self.body)
            return
        chunk = b"\xff" * 65536
        try:
            while type(self).sent < self.total:
                self.wfile.write(chunk)
                type(self).sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def content_server(settings: Any) -> Iterator[type[EndlessContent]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndlessContent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LINE_DATA_HOST = f"http://127.0.0.1:{server.server_address[1]}"
    yield EndlessContent
    server.shutdown()
    server.server_close()
    EndlessContent.body = b""


def test_a_download_stops_once_it_passes_the_limit(channel, content_server, settings):
    settings.LINE_CONTENT_MAX_BYTES = 1_000_000
    assert transport_for(channel).get_content(channel, message_id="1") is None
    # Stopped near the limit (what the sockets buffered aside), not read to the end.
    assert content_server.sent < 50_000_000 < content_server.total
    # Within the limit, the bytes arrive whole.
    content_server.body = jpeg()
    assert transport_for(channel).get_content(channel, message_id="2") == content_server.body
