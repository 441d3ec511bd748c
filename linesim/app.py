"""The linesim web application: LINE's Messaging API paths and linesim's control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from linesim import control, endpoints
from linesim.spec import check_request, check_response, load_specs
from linesim.state import SimChannel, State, request_id

logger = logging.getLogger("linesim")

AUTH_FAILED = {
    "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
}
RATE_LIMITED = {"message": "The API rate limit has been exceeded. Try again later."}
MAX_BODY = 5_000_000


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8001
    channel_id: str = "2000000001"
    channel_secret: str = "linesim-demo-secret"  # noqa: S105 - a demo value, documented
    access_token: str = "linesim-demo-token"  # noqa: S105
    webhook_url: str = "http://127.0.0.1:8000/line/main/webhook"
    reply_token_ttl: float = 60
    rate_limits: bool = True


@dataclass
class Call:
    """One LINE API call as a handler sees it."""

    request: Request
    state: State
    channel: SimChannel | None
    body: bytes
    json: Any
    endpoint: str


Handler = Callable[[Call], Awaitable[tuple[int, Any, dict[str, str]]]]


def line_route(method: str, path: str, handler: Handler, *, authenticated: bool = True) -> Route:
    """A LINE API path with LINE's checks around it: auth, faults, rate limit, spec, counters."""
    endpoint = f"{method} {path}"

    async def view(request: Request) -> Response:
        state: State = request.app.state.sim
        body = await request.body()
        if len(body) > MAX_BODY:
            return _answer(state, endpoint, 413, {"message": "Request entity too large"}, {})
        channel = None
        if authenticated:
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            channel = state.channel_for_token(token)
            if channel is None:
                return _answer(state, endpoint, 401, AUTH_FAILED, {})
        fault = state.take_fault(method, request.url.path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status and not fault.after:
            return _answer(state, endpoint, fault.status, _fault_body(fault.status), {})
        if channel is not None and state.rate_limited(channel.channel_id, endpoint):
            return _answer(state, endpoint, 429, RATE_LIMITED, {})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"content-length", "host"}}
        problem = check_request(
            method,
            request.url.path,
            dict(request.query_params),
            headers,
            body,
            request.headers.get("content-type", ""),
        )
        if problem is not None:
            return _answer(state, endpoint, 400, problem, {})
        try:
            parsed = json.loads(body) if body and "json" in request.headers.get("content-type", "") else None
        except ValueError:
            return _answer(
                state, endpoint, 400, {"message": "The request body has 1 error(s)", "details": []}, {}
            )
        status, payload, extra = await handler(Call(request, state, channel, body, parsed, endpoint))
        if fault is not None and fault.status and fault.after:
            # Carried out, but the answer is lost: as when LINE accepted a request and then failed.
            return _answer(state, endpoint, fault.status, _fault_body(fault.status), {})
        response = _answer(state, endpoint, status, payload, extra)
        if 200 <= status < 300 and "json" in response.headers.get("content-type", ""):
            problems = check_response(
                method, request.url.path, status, bytes(response.body), "application/json"
            )
            if problems:
                # A linesim bug, not the bot's: say so loudly.
                logger.error("linesim answered %s against LINE's spec: %s", endpoint, problems)
                return JSONResponse(
                    {"message": "linesim answer does not match the spec", "details": problems}, 500
                )
        return response

    return Route(path, view, methods=[method])


def _fault_body(status: int) -> dict[str, str]:
    if status == 429:
        return RATE_LIMITED
    if status >= 500:
        return {"message": "Internal server error"}
    return {"message": "Injected error"}


def _answer(state: State, endpoint: str, status: int, payload: Any, headers: dict[str, str]) -> Response:
    state.count(endpoint, status)
    headers = {"x-line-request-id": request_id(), **headers}
    if isinstance(payload, bytes | Response):
        if isinstance(payload, Response):
            payload.headers.update(headers)
            return payload
        return Response(payload, status_code=status, headers=headers)
    return JSONResponse(payload if payload is not None else {}, status_code=status, headers=headers)


def create_app(config: Config | None = None) -> Starlette:
    config = config or Config()
    state = State(reply_token_ttl=config.reply_token_ttl, rate_limits=config.rate_limits)
    state.add_channel(
        SimChannel(
            channel_id=config.channel_id,
            secret=config.channel_secret,
            webhook_url=config.webhook_url,
            bot_user_id="U" + f"{int(config.channel_id):032x}"[-32:]
            if config.channel_id.isdigit()
            else "U" + "0" * 32,
            access_tokens={config.access_token},
        )
    )
    load_specs()
    routes: list[BaseRoute] = [
        *(
            line_route(method, path, handler, authenticated=auth)
            for method, path, handler, auth in endpoints.ROUTES
        ),
        *control.routes(),
    ]
    try:
        from linesim.phone import phone_routes

        routes.extend(phone_routes)
    except ImportError:  # pragma: no cover - the phone page is optional
        pass

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One client for every webhook: connections to the bot are reused.
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=100)) as client:
            app.state.http = client
            yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sim = state
    app.state.config = config
    return app
