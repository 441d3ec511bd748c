"""What domain apps use to talk to residents, whatever the channel.

Domain apps build channel-neutral messages (`Text`, `Buttons`, `Flex` ...) and hand them to a
`Transport`, which the channel's integration implements (`channels.line.client`). They never
import an integration: `transport_for()` resolves it from settings.CHANNEL_TRANSPORTS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from madoguchi.core.models import Channel


class ChannelError(Exception):
    """A send that did not go through.

    `permanent` tells whether trying again can help: a blocked user or a bad token will not get
    better (permanent); a 429 or a 5xx may (transient).
    """

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status


# Actions: what a tap on a button, a quick reply or a rich menu area does.


@dataclass(frozen=True)
class PostbackAction:
    label: str
    data: str
    display_text: str | None = None


@dataclass(frozen=True)
class MessageAction:
    label: str
    text: str


@dataclass(frozen=True)
class UriAction:
    label: str
    uri: str


@dataclass(frozen=True)
class DatetimePickerAction:
    label: str
    data: str
    mode: Literal["date", "time", "datetime"] = "date"
    initial: str | None = None
    min: str | None = None
    max: str | None = None


@dataclass(frozen=True)
class LocationAction:
    """Opens the location picker (quick replies only)."""

    label: str


@dataclass(frozen=True)
class CameraAction:
    """Opens the camera (quick replies only)."""

    label: str


@dataclass(frozen=True)
class CameraRollAction:
    """Opens the photo library (quick replies only)."""

    label: str


Action = (
    PostbackAction
    | MessageAction
    | UriAction
    | DatetimePickerAction
    | LocationAction
    | CameraAction
    | CameraRollAction
)


# Messages. Each may carry quick replies, shown as chips until the resident answers.


@dataclass(frozen=True)
class Text:
    text: str
    quick_replies: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Image:
    url: str
    preview_url: str
    quick_replies: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Sticker:
    package_id: str
    sticker_id: str
    quick_replies: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Buttons:
    """A card with a text and up to four buttons."""

    alt_text: str
    text: str
    actions: tuple[Action, ...]
    title: str | None = None
    image_url: str | None = None
    quick_replies: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Confirm:
    """A question with two buttons (はい / いいえ)."""

    alt_text: str
    text: str
    actions: tuple[Action, Action]
    quick_replies: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Flex:
    """A Flex message; `contents` is a bubble or carousel in LINE's JSON form."""

    alt_text: str
    contents: dict[str, Any] = field(default_factory=dict)
    quick_replies: tuple[Action, ...] = ()


OutboundMessage = Text | Image | Sticker | Buttons | Confirm | Flex


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    picture_url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Quota:
    limit: int | None  # None: no monthly limit
    used: int


@dataclass(frozen=True)
class Insight:
    delivered: int | None
    opened: int | None  # LINE reports None below its privacy threshold (20)
    clicked: int | None


# LINE's limit of recipients per multicast request.
MULTICAST_MAX = 500


class InboundEvent(Protocol):
    """A stored event as the dispatcher sees it, whatever channel it came from."""

    channel: Channel
    webhook_event_id: str
    event_type: str
    source_user_id: str
    payload: dict[str, Any]

    def seal(self) -> None:
        """Keep this event's content encrypted from now on (it turned out to be counseling)."""


@dataclass(frozen=True)
class Reply:
    """One event's answer, for `Transport.reply_many` (the fields of `Transport.reply`)."""

    reply_token: str | None
    user_id: str
    messages: list[OutboundMessage]
    dedupe_key: str
    received_at_ms: int | None = None


class Transport(Protocol):
    """What a channel integration offers domain apps."""

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
        """Answer an event: by reply token while it is fresh, else by push.

        `dedupe_key` names this answer (e.g. the event and its position) so that processing an
        event again never sends the same answer twice. `confidential` (counseling) keeps the
        sent messages encrypted, as on a confidential channel.
        """

    def reply_many(self, channel: Channel, replies: list[Reply]) -> list[Exception | None]:
        """Answer many events at once (a burst of answers to one question): each as `reply`
        would, but those that must be pushed (their token is too old) and say the same go
        together, in one multicast per MULTICAST_MAX. Returns, per reply, None when it was sent
        or the error that stopped it. Not for confidential channels."""

    def push(
        self,
        channel: Channel,
        *,
        user_id: str,
        messages: list[OutboundMessage],
        dedupe_key: str,
        confidential: bool = False,
    ) -> None:
        """Send to one resident at any time."""

    def get_profile(self, channel: Channel, *, user_id: str) -> Profile | None:
        """The resident's LINE profile, or None when LINE no longer knows them as a friend."""

    def get_content(self, channel: Channel, *, message_id: str) -> bytes | None:
        """The image or file a resident sent (None when it is gone or larger than we keep)."""

    def mark_read(self, channel: Channel, *, token: str) -> None:
        """Show the resident 既読 up to the message this token came with."""

    # Deliveries (madoguchi.messaging): many residents at once.

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
        """Send the same messages to up to MULTICAST_MAX residents in one request.

        Done again with the same `dedupe_key` (after a crash), it reuses the first attempt's
        retry key, so nobody receives it twice. `aggregation_unit` groups requests for insight.
        `recorded=False` is for a caller that keeps the request's state, attempts and recipients
        itself (a delivery's batch): the integration then writes no request row of its own.
        """

    def broadcast(self, channel: Channel, *, messages: list[OutboundMessage], dedupe_key: str) -> str:
        """Send to every friend of the channel; returns the platform's request id (for insight)."""

    def message_quota(self, channel: Channel) -> Quota:
        """This month's message allowance and what has been used of it."""

    def delivery_insight(
        self,
        channel: Channel,
        *,
        sent_on: date,
        request_id: str | None = None,
        aggregation_unit: str | None = None,
    ) -> Insight | None:
        """Figures LINE keeps about a sent delivery: by request id (broadcast) or aggregation
        unit (multicast). None while LINE has none yet."""


def transport_for(channel: Channel) -> Transport:
    transport_class = import_string(settings.CHANNEL_TRANSPORTS[channel.kind])
    transport: Transport = transport_class()
    return transport


# Rich menus: the menu under the chat, built by `madoguchi.richmenus` and carried out by the
# channel's integration (`channels.line.richmenu`).


@dataclass(frozen=True)
class RichMenuSwitchAction:
    """A tab: switches the resident's menu to the one behind `alias` (and sends `data` back)."""

    label: str
    alias: str
    data: str


RichMenuAction = PostbackAction | MessageAction | UriAction | RichMenuSwitchAction


@dataclass(frozen=True)
class RichMenuArea:
    x: int
    y: int
    width: int
    height: int
    action: RichMenuAction


@dataclass(frozen=True)
class RichMenuSpec:
    """One rich menu as the platform holds it. `name` is ours (≤300), shown to no resident."""

    name: str
    width: int
    height: int
    chat_bar_text: str
    areas: tuple[RichMenuArea, ...]
    selected: bool = False


@dataclass(frozen=True)
class BatchLink:
    """Move everyone whose menu is `from_id` to `to_id` (None: unlink them, the default shows)."""

    from_id: str
    to_id: str | None


class RichMenus(Protocol):
    """What a channel integration offers for rich menus. Failures raise ChannelError; a 429 has
    `status=429` (the caller waits or takes another way, never hammers)."""

    def validate(self, channel: Channel, spec: RichMenuSpec) -> None: ...

    def create(self, channel: Channel, spec: RichMenuSpec) -> str:
        """Create the menu; its platform id."""

    def upload_image(self, channel: Channel, menu_id: str, image: bytes, content_type: str) -> None: ...

    def find(self, channel: Channel, name: str) -> str | None:
        """The id of a menu of ours with this name (to adopt one created before a crash)."""

    def delete(self, channel: Channel, menu_id: str) -> None: ...

    def alias_set(self, channel: Channel, alias: str, menu_id: str) -> None: ...

    def default_set(self, channel: Channel, menu_id: str | None) -> None: ...

    def link(self, channel: Channel, user_id: str, menu_id: str | None) -> None:
        """Show this resident this menu (None: the default again)."""

    def bulk_link(self, channel: Channel, user_ids: list[str], menu_id: str | None) -> None:
        """Up to BULK_LINK_MAX residents at once (None: unlink them)."""

    def batch(self, channel: Channel, operations: list[BatchLink]) -> str:
        """Move every resident on the platform from one menu to another; the request id."""

    def batch_phase(self, channel: Channel, request_id: str) -> str:
        """ "ongoing", "succeeded" or "failed"."""


BULK_LINK_MAX = 500  # user ids a bulk link or unlink request may carry
BATCH_OPERATIONS_MAX = 1000  # operations one batch request may carry


def rich_menus_for(channel: Channel) -> RichMenus:
    menus_class = import_string(settings.CHANNEL_RICH_MENUS[channel.kind])
    menus: RichMenus = menus_class()
    return menus
