"""The phone page: play a resident in a browser (chat, quick replies, cards, rich menu, photo, location,
LIFF pages in a web view).

Plain files under `static/phone/`, no build step and nothing from the internet: the page talks
only to linesim's control API (`/_sim/...`, docs/linesim.md). `/liff/sdk.js` stands in for
LINE's LIFF SDK in the pages the phone opens (`static/liff/sdk.js`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

PHONE_DIR = Path(__file__).parent / "static" / "phone"
LIFF_SDK = Path(__file__).parent / "static" / "liff" / "sdk.js"


async def phone(request: Request) -> Response:
    # no-store: a page edited during development is never served stale.
    return FileResponse(PHONE_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def liff_sdk(request: Request) -> Response:
    return FileResponse(
        LIFF_SDK, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-store"}
    )


phone_routes: list[BaseRoute] = [
    Route("/phone", phone, methods=["GET"]),
    Route("/liff/sdk.js", liff_sdk, methods=["GET"]),
    Mount("/phone/assets", StaticFiles(directory=PHONE_DIR), name="phone-assets"),
]
