"""Counseling: a room no one else can enter. What residents and counselors write is encrypted
everywhere it is stored, crisis words are answered at once, and the content is purged in time."""

from __future__ import annotations

import base64
import io
import os
import subprocess
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from PIL import Image

from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.core.models import Channel
from madoguchi.core.retention import retention_purge
from madoguchi.inbox.crisis import has_crisis_words
from madoguchi.inbox.models import Attachment, Conversation, Message
from madoguchi.inbox.services import conversation_close, reply_send
from madoguchi.residents.models import Resident
from tests.conftest import run_tasks
from tests.inbox.conftest import COUNSELING_CHANNEL_ID

USER = "U" + "c" * 32
# Words no other row of the database holds, so finding them in a dump means a leak.
SECRET_WORDS = "クラスのタナカさんにノートを破られた"
COUNSELOR_WORDS = "つらかったですね。ソウダンインのサトウです"


def database_dump() -> str:
    """Everything in the test database, as an administrator's backup would hold it."""
    connection.ensure_connection()
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    return subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def counselor(transactional_db) -> User:
    return User.objects.create_user("counselor-1", password="x" * 16)


def counseling_texts(sim) -> list[str]:
    return [m.get("text", "") for m in sim.messages(USER)]


def test_a_counseling_conversation_leaves_no_plaintext_in_the_database(sim, counseling_channel, counselor):
    sim.send(USER, {"type": "follow"}, channel=COUNSELING_CHANNEL_ID)
    sim.text(USER, SECRET_WORDS, channel=COUNSELING_CHANNEL_ID)
    run_tasks()
    assert "相談を受け付けました" in counseling_texts(sim)[-1]
    conversation = Conversation.objects.get()
    assert conversation.is_counseling and conversation.channel == counseling_channel
    assert conversation.messages.get().body == SECRET_WORDS  # the counselor reads it

    reply_send(conversation, author=counselor, text=COUNSELOR_WORDS)
    run_tasks()
    assert counseling_texts(sim)[-1] == COUNSELOR_WORDS  # the resident receives it

    dump = database_dump()
    assert USER in dump  # the dump is real and holds the resident's rows ...
    for words in (SECRET_WORDS, COUNSELOR_WORDS, "タナカ", "サトウ"):
        assert words not in dump  # ... but nothing that was said
    # The stored event keeps its envelope (type, time, who) for operations, sealed otherwise.
    event = InboundEvent.objects.filter(event_type="message").get()
    assert set(event.payload) >= {"type", "sealed", "source"}
    assert "message" not in event.payload


def test_crisis_words_get_hotlines_at_once_and_flag_the_counselors(sim, channel, settings):
    sim.send(USER, {"type": "follow"})
    sim.text(USER, "もう死にたい")
    run_tasks()
    answer = counseling_texts(sim)[-1]
    assert "いのちの電話" in answer and "0570-064-556" in answer
    conversation = Conversation.objects.get()
    assert conversation.crisis and conversation.is_counseling
    assert conversation.channel == channel  # the main account: counselors answer there
    # The message turned the event into counseling: sealed after the fact, nothing in the dump.
    assert "死にたい" not in database_dump()

    # Every further message goes to the counselors, sealed too; the bot stays quiet.
    before = len(sim.messages(USER))
    sim.text(USER, "ガッコウに行きたくない")
    run_tasks()
    assert len(sim.messages(USER)) == before
    assert "ガッコウ" not in database_dump()


@pytest.mark.parametrize(
    ("text", "crisis"),
    [
        ("死にたい", True),
        ("シニタイ", True),
        ("しに たい", True),
        ("ｼﾆﾀｲ", True),
        ("自殺したい", True),
        ("I want to die", True),
        ("消えたいです", True),
        ("粗大ごみの出し方", False),
        ("死亡届の出し方", False),
        ("", False),
    ],
)
def test_crisis_words_match_the_ways_people_write_them(text, crisis):
    assert has_crisis_words(text) is crisis


def test_counseling_follow_greets_with_confidentiality(sim, counseling_channel):
    sim.send(USER, {"type": "follow"}, channel=COUNSELING_CHANNEL_ID)
    run_tasks()
    assert "相談員のほかは見ることができません" in counseling_texts(sim)[-1]
    assert Resident.objects.get().channel == counseling_channel


def test_closed_counseling_is_purged_after_its_retention(sim, counseling_channel, counselor, settings):
    sim.send(USER, {"type": "follow"}, channel=COUNSELING_CHANNEL_ID)
    sim.text(USER, SECRET_WORDS, channel=COUNSELING_CHANNEL_ID)
    run_tasks()
    conversation = Conversation.objects.get()
    conversation_close(conversation, actor=counselor)
    Conversation.objects.update(
        closed_at=timezone.now() - timedelta(days=settings.RETAIN_COUNSELING_DAYS + 1)
    )
    removed = retention_purge()
    assert removed["counseling conversations (after they closed)"] == 1
    assert not Message.objects.exists()


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_kept_without_its_location(sim, channel):
    from tests.inbox.test_handoff import _ask_for_a_person

    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)
    _ask_for_a_person(sim, "button")
    sim.send(
        "U" + "a" * 32,
        {"type": "message", "message": {"type": "image"}, "content": base64.b64encode(original).decode()},
    )
    run_tasks()
    assert "GET /v2/bot/message/{messageId}/content" in sim.stats()["endpoints"]
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg"
    cleaned = Image.open(io.BytesIO(base64.b64decode(attachment.data)))
    assert cleaned.size == (64, 48)
    assert not cleaned.getexif()  # no GPS, no camera


@pytest.mark.parametrize(
    "content",
    [b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, b""],
)
def test_a_broken_image_is_refused_without_breaking_the_conversation(sim, channel, content):
    from tests.inbox.test_handoff import _ask_for_a_person

    _ask_for_a_person(sim, "button")
    sim.send(
        "U" + "a" * 32,
        {"type": "message", "message": {"type": "image"}, "content": base64.b64encode(content).decode()},
    )
    run_tasks()
    assert not Attachment.objects.exists()
    message = Message.objects.get(kind="image")
    assert message.body.startswith("(")


def test_a_staff_reply_in_counseling_is_stored_sealed(sim, counseling_channel, counselor):
    sim.send(USER, {"type": "follow"}, channel=COUNSELING_CHANNEL_ID)
    sim.text(USER, "はなしをきいて", channel=COUNSELING_CHANNEL_ID)
    run_tasks()
    reply_send(Conversation.objects.get(), author=counselor, text=COUNSELOR_WORDS)
    run_tasks()
    row = OutboundRequest.objects.get(dedupe_key__startswith="inbox:")
    assert row.status == OutboundRequest.Status.SENT
    assert list(row.messages[0]) == ["sealed"]


def test_keys_rotate_and_the_old_key_can_then_go(sim, counseling_channel, counselor, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from madoguchi.channels.line.inbound import payload_unsealed
    from madoguchi.core import crypto

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    channels = list(Channel.objects.all())  # read under the key they were written with
    settings.ENCRYPTION_KEYS = [old]
    crypto._fernet.cache_clear()
    try:
        for channel in channels:
            channel.save()  # secrets and tokens, now under the old key
        sim.send(USER, {"type": "follow"}, channel=COUNSELING_CHANNEL_ID)
        sim.text(USER, SECRET_WORDS, channel=COUNSELING_CHANNEL_ID)
        run_tasks()
        reply_send(Conversation.objects.get(), author=counselor, text=COUNSELOR_WORDS)
        run_tasks()

        settings.ENCRYPTION_KEYS = [new, old]
        crypto._fernet.cache_clear()
        call_command("rotate_keys", stdout=io.StringIO())

        settings.ENCRYPTION_KEYS = [new]  # the old key is gone: everything still reads
        crypto._fernet.cache_clear()
        assert Message.objects.get(direction=Message.Direction.INBOUND).body == SECRET_WORDS
        event = InboundEvent.objects.filter(event_type="message").get()
        assert payload_unsealed(event.payload)["message"]["text"] == SECRET_WORDS
        sent = OutboundRequest.objects.get(dedupe_key__startswith="inbox:")
        assert crypto.unseal(sent.messages[0]["sealed"])[0]["text"] == COUNSELOR_WORDS
        counseling_channel.refresh_from_db()
        assert counseling_channel.access_token
    finally:
        crypto._fernet.cache_clear()


def test_a_file_larger_than_we_keep_is_noted_not_downloaded(sim, channel, settings):
    from tests.inbox.test_handoff import _ask_for_a_person

    _ask_for_a_person(sim, "button")
    sim.send(
        "U" + "a" * 32,
        {
            "type": "message",
            "message": {
                "type": "file",
                "fileName": "huge.zip",
                "fileSize": settings.LINE_CONTENT_MAX_BYTES + 1,
            },
        },
    )
    run_tasks()
    message = Message.objects.get(kind="file")
    assert "大きすぎる" in message.body and "huge.zip" in message.body
    assert not Attachment.objects.exists()
    assert "GET /v2/bot/message/{messageId}/content" not in sim.stats()["endpoints"]
