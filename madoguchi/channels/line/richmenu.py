"""LINE's rich-menu API (channels.base.RichMenus), through the same SDK and token as every send.

Rate limits (PLATFORM-FACTS §3) differ wildly: create and delete 100 an hour, the batch 3 an
hour, links 2,000 a second. A 429 is therefore never retried here: it is raised at once with
`status=429`, and the caller (`richmenus.sync`) waits or takes another way. 5xx and dropped
connections are tried again a few times with backoff, as sends are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from django.conf import settings
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApiBlob,
    RichMenuBatchRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from madoguchi.channels.base import (
    BATCH_OPERATIONS_MAX,
    BULK_LINK_MAX,
    BatchLink,
    ChannelError,
    MessageAction,
    PostbackAction,
    RichMenuAction,
    RichMenuSpec,
    RichMenuSwitchAction,
    UriAction,
)
from madoguchi.channels.line.client import messaging_api
from madoguchi.channels.line.tokens import token_for
from madoguchi.core.models import Channel

logger = logging.getLogger(__name__)

T = TypeVar("T")


def render_action(action: RichMenuAction) -> dict[str, Any]:
    if isinstance(action, PostbackAction):
        rendered: dict[str, Any] = {"type": "postback", "label": action.label[:20], "data": action.data}
        if action.display_text:
            rendered["displayText"] = action.display_text[:300]
        return rendered
    if isinstance(action, MessageAction):
        return {"type": "message", "label": action.label[:20], "text": action.text[:300]}
    if isinstance(action, UriAction):
        return {"type": "uri", "label": action.label[:20], "uri": action.uri}
    if isinstance(action, RichMenuSwitchAction):
        return {
            "type": "richmenuswitch",
            "label": action.label[:20],
            "richMenuAliasId": action.alias,
            "data": action.data,
        }
    raise TypeError(f"not a rich menu action: {action!r}")


def render_rich_menu(spec: RichMenuSpec) -> dict[str, Any]:
    return {
        "size": {"width": spec.width, "height": spec.height},
        "selected": spec.selected,
        "name": spec.name[:300],
        "chatBarText": spec.chat_bar_text[:14],
        "areas": [
            {
                "bounds": {"x": a.x, "y": a.y, "width": a.width, "height": a.height},
                "action": render_action(a.action),
            }
            for a in spec.areas
        ],
    }


def _message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or b"{}")
        details = "; ".join(str(d.get("message", "")) for d in body.get("details") or [])
        return (str(body.get("message", "")) + (f" ({details})" if details else ""))[:500]
    except (ValueError, TypeError, AttributeError):
        return ""


def _call(what: str, call: Callable[[], T]) -> T:
    backoff = settings.LINE_BACKOFF_SECONDS
    last = ""
    status: int | None = None
    for attempt in range(1, settings.LINE_SEND_ATTEMPTS + 1):
        try:
            return call()
        except ApiException as exc:
            status = exc.status or 0
            last = f"HTTP {status}: {_message(exc)}"
            if status == 429:
                raise ChannelError(last, permanent=False, status=429) from None
            if status < 500:
                raise ChannelError(last, permanent=True, status=status) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            last = type(exc).__name__
        logger.warning("LINE rich menu %s: %s (attempt %s)", what, last, attempt)
        time.sleep(backoff * 2 ** (attempt - 1))
    raise ChannelError(last or "LINE did not answer", permanent=False, status=status)


def _header(headers: Any, name: str) -> str:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


class LineRichMenus:
    """channels.base.RichMenus for LINE."""

    def validate(self, channel: Channel, spec: RichMenuSpec) -> None:
        request = RichMenuRequest.from_dict(render_rich_menu(spec))
        _call("validate", lambda: messaging_api(channel).validate_rich_menu_object(request))

    def create(self, channel: Channel, spec: RichMenuSpec) -> str:
        request = RichMenuRequest.from_dict(render_rich_menu(spec))
        response = _call("create", lambda: messaging_api(channel).create_rich_menu(request))
        return str(response.rich_menu_id)

    def upload_image(self, channel: Channel, menu_id: str, image: bytes, content_type: str) -> None:
        # Images go to api-data.line.me in production (LINE_DATA_HOST); linesim serves both.
        host = settings.LINE_DATA_HOST or settings.LINE_API_HOST
        blob = MessagingApiBlob(ApiClient(Configuration(host=host, access_token=token_for(channel))))
        _call(
            "upload",
            lambda: blob.set_rich_menu_image(
                menu_id,
                image,
                # The SDK ignores `_content_type` here; without the header it would send JSON.
                _headers={"Content-Type": content_type},
                _request_timeout=settings.LINE_TIMEOUT_SECONDS,
            ),
        )

    def find(self, channel: Channel, name: str) -> str | None:
        response = _call("list", lambda: messaging_api(channel).get_rich_menu_list())
        for menu in response.richmenus or []:
            if menu.name == name:
                return str(menu.rich_menu_id)
        return None

    def delete(self, channel: Channel, menu_id: str) -> None:
        try:
            _call("delete", lambda: messaging_api(channel).delete_rich_menu(menu_id))
        except ChannelError as exc:
            if exc.status != 404:  # already gone: what we wanted
                raise

    def alias_set(self, channel: Channel, alias: str, menu_id: str) -> None:
        api = messaging_api(channel)
        try:
            _call(
                "alias update",
                lambda: api.update_rich_menu_alias(alias, UpdateRichMenuAliasRequest(richMenuId=menu_id)),
            )
        except ChannelError as exc:
            if exc.status not in (400, 404):
                raise
            _call(
                "alias create",
                lambda: api.create_rich_menu_alias(
                    CreateRichMenuAliasRequest(richMenuAliasId=alias, richMenuId=menu_id)
                ),
            )

    def default_set(self, channel: Channel, menu_id: str | None) -> None:
        api = messaging_api(channel)
        if menu_id is None:
            _call("default cancel", api.cancel_default_rich_menu)
        else:
            _call("default", lambda: api.set_default_rich_menu(menu_id))

    def link(self, channel: Channel, user_id: str, menu_id: str | None) -> None:
        api = messaging_api(channel)
        if menu_id is None:
            _call("unlink", lambda: api.unlink_rich_menu_id_from_user(user_id))
        else:
            _call("link", lambda: api.link_rich_menu_id_to_user(user_id, menu_id))

    def bulk_link(self, channel: Channel, user_ids: list[str], menu_id: str | None) -> None:
        if not user_ids:
            return
        if len(user_ids) > BULK_LINK_MAX:
            raise ValueError(f"at most {BULK_LINK_MAX} users a bulk request")
        api = messaging_api(channel)
        if menu_id is None:
            unlink = RichMenuBulkUnlinkRequest(userIds=user_ids)
            _call("bulk unlink", lambda: api.unlink_rich_menu_id_from_users(unlink))
        else:
            link = RichMenuBulkLinkRequest(richMenuId=menu_id, userIds=user_ids)
            _call("bulk link", lambda: api.link_rich_menu_id_to_users(link))

    def batch(self, channel: Channel, operations: list[BatchLink]) -> str:
        if not 1 <= len(operations) <= BATCH_OPERATIONS_MAX:
            raise ValueError(f"a batch carries 1 to {BATCH_OPERATIONS_MAX} operations")
        request = RichMenuBatchRequest.from_dict(
            {
                "operations": [
                    {"type": "link", "from": o.from_id, "to": o.to_id}
                    if o.to_id
                    else {"type": "unlink", "from": o.from_id}
                    for o in operations
                ]
            }
        )
        response = _call("batch", lambda: messaging_api(channel).rich_menu_batch_with_http_info(request))
        return _header(response.headers, "x-line-request-id")

    def batch_phase(self, channel: Channel, request_id: str) -> str:
        progress = _call(
            "batch progress", lambda: messaging_api(channel).get_rich_menu_batch_progress(request_id)
        )
        return str(progress.phase)
