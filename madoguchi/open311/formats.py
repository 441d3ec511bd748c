"""GeoReport v2's two formats: the same data as JSON or as the spec's XML, and its errors."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse, JsonResponse

# The XML element each list holds, by the list's own element name.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            element.append(_element(ITEM.get(name, "item"), child))
    else:
        element.text = _text(value)
    return element


def respond(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    """`root` names the XML document element (services, service_requests, discovery ...)."""
    if fmt == "json":
        return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    body = ET.tostring(_element(root, data), encoding="unicode")
    return HttpResponse(
        '<?xml version="1.0" encoding="utf-8"?>' + body, status=status, content_type="text/xml; charset=utf-8"
    )


def error(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error list: [{"code": 404, "description": "..."}] or <errors><error>...</error></errors>."""
    return respond(
        fmt if fmt in ("json", "xml") else "xml",
        "errors",
        [{"code": status, "description": description}],
        status,
    )
