"""Requests checked against LINE's official OpenAPI specs (copied into linesim/specs/).

An invalid request gets LINE's own 400 shape: {"message": ..., "details": [{"message", "property"}]}.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

logger = logging.getLogger(__name__)

SPECS = Path(__file__).parent / "specs"
# Which spec describes which paths, and the host LINE serves them on.
SPEC_FILES = {
    "messaging-api.yml": ("https://api.line.me", "https://api-data.line.me"),
    "channel-access-token.yml": ("https://api.line.me",),
    "insight.yml": ("https://api.line.me",),
    "liff.yml": ("https://api.line.me",),
}


def _dispatch_on_discriminators(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the specs' discriminators validate the concrete type.

    LINE's specs describe polymorphism for code generators: `Message` has a discriminator on
    `type`, and `TextMessage` is `allOf: [Message, {...}]`. A plain validator then checks only
    the base (`{"type": "text"}` without text would pass). Here each discriminated schema
    becomes "the base, and exactly the mapped schema for its `type`", and subtypes inherit
    from a copy of the base without the dispatch (no endless recursion).
    """
    schemas = spec.get("components", {}).get("schemas", {})
    dispatched = {
        name: schema
        for name, schema in schemas.items()
        if isinstance(schema.get("discriminator"), dict) and schema["discriminator"].get("mapping")
    }
    prefix = "#/components/schemas/"

    def rebase(node: Any) -> None:
        if isinstance(node, dict):
            for part in node.get("allOf", []) or []:
                ref = part.get("$ref", "") if isinstance(part, dict) else ""
                if ref.startswith(prefix) and ref[len(prefix) :] in dispatched:
                    part["$ref"] = ref + "__base"
            for value in node.values():
                rebase(value)
        elif isinstance(node, list):
            for value in node:
                rebase(value)

    rebase(schemas)
    for name, schema in dispatched.items():
        base = {key: value for key, value in schema.items() if key != "discriminator"}
        schemas[name + "__base"] = base
        prop = schema["discriminator"]["propertyName"]
        branches = [
            {"allOf": [{"type": "object", "properties": {prop: {"enum": [value]}}}, {"$ref": target}]}
            for value, target in schema["discriminator"]["mapping"].items()
        ]
        schemas[name] = {"allOf": [{"$ref": prefix + name + "__base"}, {"anyOf": branches}]}
    return spec


@functools.cache
def _openapi(name: str) -> OpenAPI:
    with open(SPECS / name, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    return OpenAPI.from_dict(_dispatch_on_discriminators(spec))


def load_specs() -> None:
    """Parse every spec once at start, so the first request is not slow."""
    for name in SPEC_FILES:
        _openapi(name)


def _details(error: BaseException) -> list[dict[str, str]]:
    details = []
    for inner in (
        getattr(error, "schema_errors", None) or getattr(error.__cause__, "schema_errors", None) or []
    ):
        path = ".".join(str(part) for part in getattr(inner, "absolute_path", []) or [])
        details.append({"message": str(getattr(inner, "message", inner))[:300], "property": path})
    if not details:
        cause = error.__cause__ or error
        details.append({"message": str(cause)[:300], "property": ""})
    return details


# Recipient lists: a multicast names up to 500 user ids, which openapi-core checks one by one
# (~30 ms a request: far slower than LINE's own 200 requests a second). Such a request is valid
# exactly when its list has a valid length, every id is a string (the spec asks no more of an id),
# and the request with a one-id list is valid; that shape is the same for every batch of a
# delivery, so its verdict is kept.
_RECIPIENT_LISTS = {("post", "/v2/bot/message/multicast"): "MulticastRequest"}
_SHAPE_VERDICTS: dict[tuple[str, ...], dict[str, Any] | None] = {}
_SHAPE_CACHE_MAX = 1000


@functools.cache
def _recipient_limits(schema_name: str) -> tuple[int, int]:
    with open(SPECS / "messaging-api.yml", encoding="utf-8") as fh:
        to = yaml.safe_load(fh)["components"]["schemas"][schema_name]["properties"]["to"]
    return int(to.get("minItems", 1)), int(to["maxItems"])


def _error(message: str, prop: str) -> dict[str, Any]:
    return {"message": "The request body has 1 error(s)", "details": [{"message": message, "property": prop}]}


def check_request(
    method: str, path: str, query: dict[str, Any], headers: dict[str, str], body: bytes, content_type: str
) -> dict[str, Any] | None:
    """None when the request is valid for the spec that describes its path; else LINE's 400 body.

    Paths no spec describes are let through (linesim's own handlers check them).
    """
    schema_name = _RECIPIENT_LISTS.get((method.lower(), path))
    to = None
    if schema_name and body:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        to = data.get("to") if isinstance(data, dict) else None
    if not (isinstance(to, list) and len(to) > 1 and all(isinstance(uid, str) for uid in to)):
        return _check(method, path, query, headers, body, content_type)
    assert schema_name is not None and isinstance(data, dict)
    low, high = _recipient_limits(schema_name)
    if not low <= len(to) <= high:
        return _error(f"size must be between {low} and {high}", "to")
    retry_key = next((v for k, v in headers.items() if k.lower() == "x-line-retry-key"), None)
    if retry_key is not None:
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return _error(f"'{retry_key[:100]}' is not a 'uuid'", "")
    others = {k: v for k, v in headers.items() if k.lower() != "x-line-retry-key"}
    shape = json.dumps({**data, "to": ["U" + "0" * 32]}, ensure_ascii=False, sort_keys=True)
    key = (
        method,
        path,
        json.dumps(sorted(others.items())),
        json.dumps(sorted(query.items())),
        content_type,
        shape,
    )
    if key not in _SHAPE_VERDICTS:
        if len(_SHAPE_VERDICTS) >= _SHAPE_CACHE_MAX:
            _SHAPE_VERDICTS.clear()
        _SHAPE_VERDICTS[key] = _check(method, path, query, others, shape.encode(), content_type)
    return _SHAPE_VERDICTS[key]


def _check(
    method: str, path: str, query: dict[str, Any], headers: dict[str, str], body: bytes, content_type: str
) -> dict[str, Any] | None:
    for name, hosts in SPEC_FILES.items():
        for host in hosts:
            request = MockRequest(
                host,
                method.lower(),
                path,
                args=query,
                headers=headers,
                data=body or None,
                content_type=content_type or "application/json",
            )
            errors = list(_openapi(name).iter_request_errors(request))
            if not errors:
                return None
            kinds = {type(error).__name__ for error in errors}
            if kinds & {"PathNotFound", "ServerNotFound", "OperationNotFound"}:
                continue
            error = errors[0]
            details = _details(error)
            return {"message": f"The request body has {len(details)} error(s)", "details": details}
    return None


@functools.lru_cache(maxsize=256)
def check_response(method: str, path: str, status: int, body: bytes, content_type: str) -> list[str]:
    """What is wrong with linesim's own answer, by the spec (empty when it is right). The same
    answer (a multicast's `{}`) is checked once."""
    for name, hosts in SPEC_FILES.items():
        for host in hosts:
            request = MockRequest(host, method.lower(), path)
            response = MockResponse(body, status_code=status, content_type=content_type or "application/json")
            errors = list(_openapi(name).iter_response_errors(request, response))
            kinds = {type(error).__name__ for error in errors}
            if kinds & {"PathNotFound", "ServerNotFound", "OperationNotFound"}:
                continue
            # Statuses the spec does not list (429, 5xx) are LINE's own; only bodies are checked.
            return [
                f"{type(e).__name__}: {e}"[:300] for e in errors if type(e).__name__ != "ResponseNotFound"
            ]
    return []


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None
