"""The evening-before reminder: opted-in residents of areas collecting tomorrow, once."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from madoguchi.core.models import Channel
from madoguchi.garbage.models import ReminderRun, ReminderSubscription
from madoguchi.garbage.services import reminder_subscribe, reminders_send, resident_erase
from madoguchi.residents.models import District, Resident
from tests.conftest import Sim
from tests.garbage.conftest import Town


def evening(hour: int = 19, minute: int = 5) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour, minute)))


_ids = itertools.count(1)


def make(channel: Channel, n: int, code: str, *, opted: bool = True, **fields: object) -> list[Resident]:
    district = District.objects.get(code=code)
    made = []
    for _ in range(n):
        resident = Resident.objects.create(
            channel=channel, line_user_id=f"U{next(_ids):032x}", district=district, **fields
        )
        if opted:
            reminder_subscribe(resident)
        made.append(resident)
    return made


@pytest.fixture
def people(sim: Sim, channel: Channel, town: Town) -> dict[str, list[Resident]]:
    groups = {
        "north": make(channel, 3, "kita") + make(channel, 2, "chuo"),
        "north_quiet": make(channel, 2, "kita", opted=False),
        "north_blocked": make(channel, 1, "kita", status=Resident.Status.BLOCKED),
        "south": make(channel, 2, "minami"),  # nothing collected tomorrow
    }
    # Friends in linesim too (a blocked one stays a friend there: we must not send to them).
    user_ids = [r.line_user_id for group in groups.values() for r in group]
    sim.http.put("/_sim/users", json={"userIds": user_ids}).raise_for_status()
    return groups


def test_reminder_reaches_opted_in_residents_of_areas_collecting_tomorrow(sim: Sim, people):
    assert reminders_send(evening()) == 5
    for resident in people["north"]:
        messages = sim.messages(resident.line_user_id)
        assert len(messages) == 1
        assert "燃やすごみ" in messages[0]["text"] and "北ブロック" in messages[0]["text"]
        assert "ごみ通知停止" in messages[0]["text"]
    for group in ("north_quiet", "north_blocked", "south"):
        assert all(sim.messages(r.line_user_id) == [] for r in people[group]), group
    run = ReminderRun.objects.get()
    assert run.state == ReminderRun.State.SENT and run.recipient_count == 5 and run.recipients == []
    assert run.day == timezone.localdate() + timedelta(days=1)


def test_a_second_run_sends_nothing(sim: Sim, people):
    reminders_send(evening())
    assert reminders_send(evening(21)) == 0
    assert all(len(sim.messages(r.line_user_id)) == 1 for r in people["north"])
    assert sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["requests"] == 1


def test_nothing_before_the_reminder_time(sim: Sim, people, settings):
    settings.GARBAGE_REMINDER_TIME = "19:30"
    assert reminders_send(evening(19, 29)) == 0 and not ReminderRun.objects.exists()
    assert reminders_send(evening(19, 30)) == 5


def test_a_run_left_half_done_by_a_crash_is_finished_without_sending_twice(sim: Sim, people, channel):
    reminders_send(evening())
    run = ReminderRun.objects.get()
    # As if the worker died after LINE accepted the multicast but before marking the run sent.
    ReminderRun.objects.filter(pk=run.pk).update(
        state=ReminderRun.State.SENDING, recipients=[[r.line_user_id, "ja"] for r in people["north"]]
    )
    reminders_send(evening(19, 10))
    assert ReminderRun.objects.get().state == ReminderRun.State.SENT
    assert all(len(sim.messages(r.line_user_id)) == 1 for r in people["north"])


def test_a_permanent_failure_is_recorded_not_retried_forever(sim: Sim, people):
    sim.fault(path="/v2/bot/message/multicast", method="POST", status=400, count=5)
    assert reminders_send(evening()) == 0
    run = ReminderRun.objects.get()
    assert run.state == ReminderRun.State.FAILED and run.error and run.recipients == []
    assert reminders_send(evening(19, 10)) == 0


def test_erasure_removes_the_opt_in(people):
    resident = people["north"][0]
    assert resident_erase(resident.channel_id, resident.line_user_id, "anon") == 1
    assert not ReminderSubscription.objects.filter(resident=resident).exists()


def test_each_resident_is_reminded_in_their_language(sim: Sim, people):
    english = people["north"][0]
    Resident.objects.filter(pk=english.pk).update(language="en-US")
    assert reminders_send(evening()) == 5
    assert sim.messages(english.line_user_id)[0]["text"].startswith("Tomorrow")
    assert sim.messages(people["north"][1].line_user_id)[0]["text"].startswith("明日")
    assert sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["requests"] == 2
