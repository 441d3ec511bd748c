"""From a resident's message to the bot's answer: once, durably, with retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.core.models import ScheduledJob
from madoguchi.residents.models import Resident
from tests.conftest import run_tasks, wait_for

USER = "U" + "a" * 32


def bot_texts(sim, user=USER) -> list[str]:
    return [message.get("text", message.get("altText", "")) for message in sim.messages(user)]


def test_follow_creates_the_resident_with_profile_and_greets(sim, channel):
    sim.set_profile(USER, displayName="山田 花子", language="ja")
    assert sim.send(USER, {"type": "follow"})["status"] == 200
    run_tasks()
    resident = Resident.objects.get(line_user_id=USER)
    assert resident.status == Resident.Status.ACTIVE
    assert resident.display_name == "山田 花子"
    greeting, invitation = sim.messages(USER)
    assert greeting["via"] == invitation["via"] == "reply"
    assert "山田 花子" in greeting["text"]
    assert "みどり市" in greeting["text"]
    assert invitation["template"]["actions"][0]["label"] == "登録する"  # registration (feature app)
    assert invitation["quickReply"]["items"]


def test_unfollow_marks_blocked_and_follow_again_reactivates(sim, channel):
    sim.send(USER, {"type": "follow"})
    run_tasks()
    sim.send(USER, {"type": "unfollow"})
    run_tasks()
    resident = Resident.objects.get(line_user_id=USER)
    assert resident.status == Resident.Status.BLOCKED
    assert resident.blocked_at is not None
    sim.send(USER, {"type": "follow"})
    run_tasks()
    resident.refresh_from_db()
    assert resident.status == Resident.Status.ACTIVE
    assert Resident.objects.count() == 1  # nothing deleted, nothing duplicated


def test_redelivered_event_is_processed_once(sim, channel):
    answer = sim.text(USER, "ヘルプ", redeliver=True)
    assert answer["status"] == 200
    assert answer["redeliveryStatus"] == 200
    assert InboundEvent.objects.count() == 1
    run_tasks()
    run_tasks()
    assert len(sim.messages(USER)) == 1
    assert InboundEvent.objects.get().status == InboundEvent.Status.DONE


def test_unknown_text_gets_a_friendly_fallback_in_japanese(sim, channel):
    sim.text(USER, "ｑｗｅｒｔｙ？")
    run_tasks()
    [answer] = sim.messages(USER)
    assert "すみません" in answer["text"]
    assert answer["quickReply"]["items"]


def test_language_postback_switches_the_residents_language(sim, channel):
    sim.send(USER, {"type": "follow"})
    sim.send(USER, {"type": "postback", "postback": {"data": "a=language&code=en"}})
    sim.text(USER, "zzz")
    run_tasks()
    assert Resident.objects.get(line_user_id=USER).language == "en"
    texts = bot_texts(sim)  # greeting, invitation to register, then the two answers
    assert "English" in texts[-2]
    assert texts[-1].startswith("Sorry")


def test_a_retry_after_500_reuses_the_retry_key_and_409_counts_as_sent(sim, channel, settings):
    settings.LINE_REPLY_TOKEN_SECONDS = 0  # the reply token is "stale": answer by push
    # LINE carries out the push but the answer is lost (500); our retry with the same key gets 409.
    sim.fault(path="/v2/bot/message/push", method="POST", status=500, count=1, after=True)
    sim.text(USER, "ヘルプ")
    run_tasks()
    row = OutboundRequest.objects.get()
    assert row.kind == OutboundRequest.Kind.PUSH
    assert row.status == OutboundRequest.Status.SENT
    assert row.attempts == 2
    assert row.last_status_code == 409
    assert row.line_request_id  # from x-line-accepted-request-id
    assert len(sim.messages(USER)) == 1  # sent once, not twice
    statuses = sim.stats()["endpoints"]["POST /v2/bot/message/push"]["statuses"]
    assert statuses == {"500": 1, "409": 1}


def test_429_backs_off_then_succeeds(sim, channel, settings):
    settings.LINE_BACKOFF_SECONDS = 0.2
    sim.fault(path="/v2/bot/message/reply", method="POST", status=429, count=2)
    sim.text(USER, "ヘルプ")
    started = time.monotonic()
    run_tasks()
    elapsed = time.monotonic() - started
    row = OutboundRequest.objects.get()
    assert row.status == OutboundRequest.Status.SENT
    assert row.attempts == 3
    assert elapsed >= 0.2 + 0.4  # waited 0.2 s, then 0.4 s
    assert len(sim.messages(USER)) == 1


def test_persistent_failure_is_retried_then_failed_visible_and_replayable(sim, channel, settings):
    settings.LINE_SEND_ATTEMPTS = 1
    settings.EVENT_MAX_ATTEMPTS = 3
    sim.fault(path="/v2/bot/message/reply", method="POST", status=500, count=1)
    sim.fault(path="/v2/bot/message/push", method="POST", status=500, count=99)
    sim.text(USER, "ヘルプ")
    run_tasks()
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.FAILED
    assert event.attempts == 3
    assert "500" in event.last_error
    assert sim.messages(USER) == []
    sim.reset()
    call_command("replay_events", "--failed")
    run_tasks()
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.DONE
    assert len(sim.messages(USER)) == 1  # answered by push: the reply token was used up


def test_blocked_resident_is_a_permanent_failure_not_retried(sim, channel, settings):
    settings.LINE_REPLY_TOKEN_SECONDS = 0
    sim.fault(path="/v2/bot/message/push", method="POST", status=400, count=1)
    sim.text(USER, "ヘルプ")
    run_tasks()
    assert OutboundRequest.objects.get().status == OutboundRequest.Status.PERMANENT_FAILURE
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.FAILED
    assert event.attempts == 1


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def test_killing_the_worker_loses_nothing(sim, channel, settings):
    """A worker dies (SIGKILL) mid-answer with another event waiting; a new worker finishes both."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MADOGUCHI_LINE_API_HOST": sim.url,
        "MADOGUCHI_EVENT_STUCK_SECONDS": "1",
    }
    # The first answer hangs for a while at LINE, so the worker is busy when it is killed.
    sim.fault(path="/v2/bot/message/reply", method="POST", count=1, delay=5)
    first = subprocess.Popen([sys.executable, "-m", "madoguchi", "worker", "--tick", "0.5"], env=env)
    try:
        sim.text(USER, "ヘルプ")
        wait_for(
            lambda: InboundEvent.objects.filter(status=InboundEvent.Status.PROCESSING).exists(),
            what="the first worker to start on the event",
        )
        sim.text(USER, "こんにちは")  # stored while the worker is busy
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert InboundEvent.objects.count() == 2
    assert InboundEvent.objects.exclude(status=InboundEvent.Status.DONE).count() >= 1

    # A minute later the periodic sweep is due again (the first worker had just run it).
    ScheduledJob.objects.update(next_run_at=timezone.now())
    time.sleep(1.1)  # the event has now been "processing" longer than EVENT_STUCK_SECONDS
    second = subprocess.Popen([sys.executable, "-m", "madoguchi", "worker", "--tick", "0.5"], env=env)
    try:
        wait_for(
            lambda: InboundEvent.objects.filter(status=InboundEvent.Status.DONE).count() == 2,
            timeout=30,
            what="both events to be processed after the restart",
        )
    finally:
        second.terminate()
        second.wait(timeout=15)
    texts = [message["text"] for message in sim.messages(USER)]
    assert any("知りたいこと" in text for text in texts)  # ヘルプ answered
    assert any("こんにちは" in text for text in texts)  # こんにちは answered


@pytest.mark.parametrize("text", ["", " ", "\u0000", "<script>alert(1)</script>", "あ" * 5000, "😀" * 100])
def test_hostile_text_gets_an_answer_and_breaks_nothing(sim, channel, text):
    sim.text(USER, text)
    run_tasks()
    assert InboundEvent.objects.get().status == InboundEvent.Status.DONE
    assert len(sim.messages(USER)) == 1
