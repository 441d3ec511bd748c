"""Everything that changes a conversation. Writes are audited; message bodies never reach the
audit log or the application log (counseling must not leak through either)."""

from __future__ import annotations

import base64
import io
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from PIL import Image, UnidentifiedImageError

from madoguchi.accounts.models import Department
from madoguchi.channels.base import ChannelError, Text, transport_for
from madoguchi.core.audit import audit_record
from madoguchi.inbox.hours import counter_hours, is_open, next_opening
from madoguchi.inbox.models import Attachment, Conversation, Message
from madoguchi.residents.models import Resident

logger = logging.getLogger(__name__)

# Staff members as the console passes them (request.user, a django.contrib.auth User).
Staff = Any
OPEN_STATUSES = (Conversation.Status.NEW, Conversation.Status.OPEN)
# Images larger than this (in pixels) are refused rather than decoded (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000


def conversation_current(resident: Resident) -> Conversation | None:
    """The resident's conversation with staff that is still going on, if any."""
    return (
        Conversation.objects.filter(resident=resident, status__in=OPEN_STATUSES)
        .order_by("-opened_at")
        .first()
    )


def conversation_open(
    resident: Resident,
    *,
    origin: str,
    topic: str = "",
    counseling: bool = False,
    crisis: bool = False,
    department: Department | None = None,
    actor: Staff | None = None,
) -> tuple[Conversation, bool]:
    """Open a conversation, or return the one already going on; (conversation, newly opened)."""
    with transaction.atomic():
        # Lock the resident so two events at once cannot open two conversations.
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        current = conversation_current(resident)
        if current is not None:
            changed = []
            if counseling and not current.is_counseling:
                current.is_counseling = True  # a crisis turns an inquiry into counseling
                changed.append("is_counseling")
            if crisis and not current.crisis:
                current.crisis = True
                changed.append("crisis")
            if changed:
                current.save(update_fields=changed)
            return current, False
        conversation = Conversation.objects.create(
            channel_id=resident.channel_id,
            resident=resident,
            origin=origin,
            topic=topic[:100],
            is_counseling=counseling or resident.channel.is_confidential,
            crisis=crisis,
            department=department,
        )
        audit_record(
            action="inbox.conversation.opened",
            actor=actor,
            obj=conversation,
            data={"origin": origin, "counseling": conversation.is_counseling, "crisis": crisis},
        )
    return conversation, True


def message_receive(
    conversation: Conversation,
    *,
    kind: str,
    body: str,
    payload: dict[str, Any] | None = None,
) -> Message:
    """Keep what the resident sent. Images and files are fetched in the background."""
    payload = payload or {}
    raw = payload.get("message")
    message_data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    timestamp = payload.get("timestamp")
    line_message_id = str(message_data.get("id", ""))[:40]
    size = message_data.get("fileSize")
    too_large = kind == "file" and isinstance(size, int) and size > settings.LINE_CONTENT_MAX_BYTES
    if too_large:
        body = _("(ファイルが大きすぎるため保存していません: %(name)s)") % {"name": body[:100]}
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        kind=kind[:20],
        body=body[:5000],
        line_message_id=line_message_id,
        reply_token=str(payload.get("replyToken", ""))[:100],
        received_at_ms=timestamp if isinstance(timestamp, int) else None,
        mark_read_token=str(message_data.get("markAsReadToken", ""))[:200],
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        unread=F("unread") + 1, last_message_at=timezone.now()
    )
    if kind in ("image", "file") and line_message_id and not too_large:
        from madoguchi.inbox.tasks import fetch_attachment

        fetch_attachment.enqueue(message.pk)
    return message


def after_hours_notice(conversation: Conversation, now: datetime | None = None) -> str | None:
    """The "we are closed" words, once per closed period of the counter; None when it is open."""
    now = now or timezone.now()
    hours = counter_hours(conversation.is_counseling)
    if is_open(hours, now):
        return None
    if conversation.after_hours_notice_at is not None:
        # Told already, and the counter has not opened since: say nothing more.
        reopened = next_opening(hours, conversation.after_hours_notice_at)
        if reopened is None or reopened > now:
            return None
    Conversation.objects.filter(pk=conversation.pk).update(after_hours_notice_at=now)
    conversation.after_hours_notice_at = now
    opening = next_opening(hours, now)
    if opening is None:
        return _("ただいま受付時間外です。")
    local = timezone.localtime(opening)
    return _("ただいま受付時間外です。%(when)s から順にお返事します。") % {
        "when": _("%(month)s月%(day)s日 %(time)s")
        % {
            "month": local.month,
            "day": local.day,
            "time": local.strftime("%H:%M"),
        }
    }


def reply_send(conversation: Conversation, *, author: Staff, text: str) -> Message:
    """A staff reply: stored, then sent by the worker (reply token when fresh, else push)."""
    from madoguchi.inbox.tasks import deliver_message

    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            body=text[:5000],
            author=author,
            delivery=Message.Delivery.PENDING,
        )
        updates: dict[str, Any] = {"last_message_at": now}
        if conversation.first_response_at is None:
            updates["first_response_at"] = now
        if conversation.status == Conversation.Status.NEW:
            updates["status"] = Conversation.Status.OPEN
        if conversation.assigned_to_id is None:
            updates["assigned_to"] = author
        Conversation.objects.filter(pk=conversation.pk).update(**updates)
        audit_record(
            action="inbox.message.sent", actor=author, obj=conversation, data={"message": message.pk}
        )
        deliver_message.enqueue(message.pk)
    return message


def message_deliver(message_id: int) -> None:
    """Worker: send a staff reply. A retry re-uses the dedupe key, so nothing goes twice."""
    message = Message.objects.select_related("conversation__resident", "conversation__channel").get(
        pk=message_id
    )
    if message.delivery != Message.Delivery.PENDING:
        return
    conversation = message.conversation
    resident = conversation.resident
    if resident.status != Resident.Status.ACTIVE or resident.anonymised_at is not None:
        Message.objects.filter(pk=message.pk).update(
            delivery=Message.Delivery.FAILED, delivery_error=_("住民がブロック中のため送れません。")
        )
        return
    # The bot kept quiet, so the resident's last message's reply token is usually unused: it is
    # free to send with (push counts against the month's quota).
    latest = (
        conversation.messages.filter(direction=Message.Direction.INBOUND, created_at__lte=message.created_at)
        .exclude(reply_token="")
        .order_by("-created_at")
        .first()
    )
    transport = transport_for(conversation.channel)
    try:
        if latest is not None:
            Message.objects.filter(pk=latest.pk).update(reply_token="")  # single use
            transport.reply(
                conversation.channel,
                reply_token=latest.reply_token,
                user_id=resident.line_user_id,
                messages=[Text(message.body)],
                dedupe_key=f"inbox:{message.pk}",
                received_at_ms=latest.received_at_ms,
                confidential=conversation.is_counseling,
            )
        else:
            transport.push(
                conversation.channel,
                user_id=resident.line_user_id,
                messages=[Text(message.body)],
                dedupe_key=f"inbox:{message.pk}",
                confidential=conversation.is_counseling,
            )
    except ChannelError as exc:
        # The client has already retried 429 and 5xx; staff see the failure and can send again.
        logger.warning("inbox reply %s not delivered: %s", message.pk, type(exc).__name__)
        Message.objects.filter(pk=message.pk).update(
            delivery=Message.Delivery.FAILED,
            delivery_error=((exc.status and f"HTTP {exc.status}") or "")[:300],
        )
        return
    Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.SENT, delivery_error="")


def message_resend(message: Message, *, actor: Staff) -> bool:
    """Send a failed reply again (same dedupe key: if LINE took it after all, it goes once)."""
    from madoguchi.inbox.tasks import deliver_message

    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, delivery=Message.Delivery.FAILED).update(
            delivery=Message.Delivery.PENDING, delivery_error=""
        ):
            return False
        audit_record(
            action="inbox.message.resent", actor=actor, obj=message.conversation, data={"message": message.pk}
        )
        deliver_message.enqueue(message.pk)
    return True


def note_add(conversation: Conversation, *, author: Staff, text: str) -> Message:
    """An internal note: staff see it, the resident never does."""
    message = Message.objects.create(
        conversation=conversation, direction=Message.Direction.NOTE, body=text[:5000], author=author
    )
    audit_record(action="inbox.note.added", actor=author, obj=conversation, data={"message": message.pk})
    return message


def conversation_assign(
    conversation: Conversation,
    *,
    actor: Staff,
    assignee: Staff | None,
    department: Department | None,
) -> None:
    conversation.assigned_to = assignee
    conversation.department = department
    conversation.save(update_fields=["assigned_to", "department"])
    audit_record(
        action="inbox.conversation.assigned",
        actor=actor,
        obj=conversation,
        data={"assignee": getattr(assignee, "pk", None), "department": getattr(department, "pk", None)},
    )


def conversation_close(conversation: Conversation, *, actor: Staff | None, reason: str = "staff") -> bool:
    """Close it; the resident is told (unless they closed it themselves) and the bot answers again.
    False if it was closed already."""
    closed = Conversation.objects.filter(pk=conversation.pk, status__in=OPEN_STATUSES).update(
        status=Conversation.Status.CLOSED, closed_at=timezone.now(), unread=0
    )
    if not closed:
        return False
    conversation.refresh_from_db()
    audit_record(action="inbox.conversation.closed", actor=actor, obj=conversation, data={"reason": reason})
    resident = conversation.resident
    if reason != "resident" and resident.status == Resident.Status.ACTIVE and resident.anonymised_at is None:
        with override(resident.reply_language):
            text = (
                _("ご相談を終了しました。また話したくなったら、いつでもメッセージを送ってください。")
                if conversation.is_counseling
                else _("職員との会話を終了しました。ここからは自動応答がご案内します。")
            )
        from madoguchi.inbox.tasks import deliver_message

        notice = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.SYSTEM,
            body=text,
            delivery=Message.Delivery.PENDING,
        )
        deliver_message.enqueue(notice.pk)  # sent by the worker: LINE is never called mid-request
    return True


def conversation_reopen(conversation: Conversation, *, actor: Staff) -> bool:
    if conversation_current(conversation.resident) is not None:
        return False  # one conversation at a time: the resident's words would not know where to go
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.OPEN, closed_at=None)
    audit_record(action="inbox.conversation.reopened", actor=actor, obj=conversation)
    return True


def conversation_mark_read(conversation: Conversation, *, actor: Staff) -> None:
    """Staff opened it: nothing unread, and LINE shows the resident 既読."""
    from madoguchi.inbox.tasks import mark_read

    token = (
        conversation.messages.filter(direction=Message.Direction.INBOUND)
        .exclude(mark_read_token="")
        .order_by("-created_at")
        .values_list("mark_read_token", flat=True)
        .first()
    )
    Conversation.objects.filter(pk=conversation.pk).update(unread=0)
    if token:
        conversation.messages.exclude(mark_read_token="").update(mark_read_token="")
        mark_read.enqueue(conversation.channel_id, token)


def conversations_close_idle() -> int:
    """Periodic: conversations nobody wrote in for a long while are closed; the bot returns."""
    cutoff = timezone.now() - timedelta(hours=settings.INBOX_IDLE_CLOSE_HOURS)
    idle = Conversation.objects.filter(status__in=OPEN_STATUSES, last_message_at__lt=cutoff).select_related(
        "resident", "channel"
    )
    closed = sum(conversation_close(conversation, actor=None, reason="idle") for conversation in idle[:500])
    if closed:
        logger.info("closed %s idle conversations", closed)
    return closed


def _closed_purge_before(cutoff: datetime, *, counseling: bool) -> int:
    _total, per_model = Conversation.objects.filter(
        is_counseling=counseling, status=Conversation.Status.CLOSED, closed_at__lt=cutoff
    ).delete()
    return per_model.get("inbox.Conversation", 0)


def counseling_purge_before(cutoff: datetime) -> int:
    """Retention: counseling conversations closed before `cutoff`, with every message, go."""
    return _closed_purge_before(cutoff, counseling=True)


def inquiries_purge_before(cutoff: datetime) -> int:
    """Retention: other conversations closed before `cutoff`."""
    return _closed_purge_before(cutoff, counseling=False)


def conversations_erase(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure (residents.services.ERASURE_HOOKS): what the resident and staff said goes; that a
    conversation took place, and when, stays for the figures."""
    conversations = Conversation.objects.filter(channel_id=channel_id, resident__line_user_id=line_user_id)
    Attachment.objects.filter(message__conversation__in=conversations).delete()
    Message.objects.filter(conversation__in=conversations).update(
        body="", reply_token="", mark_read_token="", line_message_id=""
    )
    return Conversation.objects.filter(pk__in=conversations).update(topic="")


def attachment_fetch(message_id: int) -> None:
    """Worker: download what the resident sent, once. Images are decoded and re-encoded, which
    drops EXIF (location included) and anything hidden after the picture."""
    message = Message.objects.select_related("conversation__channel").get(pk=message_id)
    if Attachment.objects.filter(message=message).exists():
        return
    data = transport_for(message.conversation.channel).get_content(
        message.conversation.channel, message_id=message.line_message_id
    )
    if data is None:
        Message.objects.filter(pk=message.pk).update(body=_("(LINE から取得できませんでした)"))
        return
    if message.kind == "image":
        cleaned = image_clean(data)
        if cleaned is None:
            Message.objects.filter(pk=message.pk).update(body=_("(画像として読めないファイルでした)"))
            return
        data, content_type = cleaned
        filename = ""
    else:
        content_type, filename = "application/octet-stream", message.body[:200]
    Attachment.objects.create(
        message=message,
        content_type=content_type,
        filename=filename,
        size=len(data),
        data=base64.b64encode(data).decode(),
    )


def image_clean(data: bytes) -> tuple[bytes, str] | None:
    """The picture alone, as JPEG or PNG; None when it is not an image we can read safely."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                return None
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            keep_alpha = image.mode in ("RGBA", "LA", "P")
            converted = image.convert("RGBA" if keep_alpha else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    if keep_alpha:
        converted.save(out, format="PNG")
        return out.getvalue(), "image/png"
    converted.save(out, format="JPEG", quality=88)
    return out.getvalue(), "image/jpeg"
