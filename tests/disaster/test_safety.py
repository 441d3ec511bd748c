"""安否確認: sent through the delivery batches to districts, answered by postback through linesim
and the real dispatcher, rolled up in the console, re-asked once to non-responders."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.channels.line.inbound import events_replay
from madoguchi.channels.line.models import InboundEvent, OutboundRequest
from madoguchi.chatbot.registry import postback_data
from madoguchi.core.audit import AuditEntry
from madoguchi.core.models import Channel
from madoguchi.disaster.models import SafetyAnswer, SafetyConfirmation
from madoguchi.disaster.safety import ANSWER
from madoguchi.disaster.selectors import safety_rollup
from madoguchi.disaster.services import (
    safety_answer_record,
    safety_confirmation_close,
    safety_confirmation_start,
    safety_reask_due,
)
from madoguchi.inbox.models import Conversation
from madoguchi.messaging.models import Delivery, DeliveryRun
from madoguchi.residents.models import District, Resident
from tests.conftest import Sim, run_tasks
from tests.console.conftest import signed_in

KITA, MINAMI = "kita", "minami"


@pytest.fixture(autouse=True)
def no_other_friends(request: pytest.FixtureRequest) -> None:
    if "sim" in request.fixturenames:
        sim: Sim = request.getfixturevalue("sim")
        sim.http.post("/_sim/reset", json={"users": True}).raise_for_status()


@pytest.fixture
def staff(transactional_db: None) -> Any:
    return staff_create(username="kouhou", password="correct horse battery", role=Role.DELIVERY)


@pytest.fixture
def town(sim: Sim, channel: Channel) -> dict[str, list[Resident]]:
    """Three friends in 北地区, two in 南地区 (one English), one blocked in 北地区: all followed
    through linesim, so they are friends there too."""
    kita = District.objects.create(code=KITA, name="北地区", sort_order=1)
    minami = District.objects.create(
        code=MINAMI, name="南地区", names_by_language={"en": "South"}, sort_order=2
    )
    people: dict[str, list[Resident]] = {KITA: [], MINAMI: []}
    for n, (district, language) in enumerate(
        [(kita, ""), (kita, ""), (kita, ""), (minami, ""), (minami, "en"), (kita, "")]
    ):
        user = f"U{n:032x}"
        sim.send(user, {"type": "follow"})
        run_tasks()
        resident = Resident.objects.get(line_user_id=user)
        Resident.objects.filter(pk=resident.pk).update(district=district, language=language)
        people[district.code].append(resident)
    blocked = people[KITA].pop()
    sim.send(blocked.line_user_id, {"type": "unfollow"})
    run_tasks()
    people["blocked"] = [blocked]
    return people


def inbox(sim: Sim, resident: Resident) -> list[dict[str, Any]]:
    return sim.messages(resident.line_user_id)


def delivered(sim: Sim, resident: Resident) -> list[dict[str, Any]]:
    """What deliveries brought (not the greeting, not replies)."""
    return [m for m in inbox(sim, resident) if m["via"] == "multicast"]


def tap(sim: Sim, resident: Resident, data: str) -> list[dict[str, Any]]:
    before = len(inbox(sim, resident))
    sim.send(resident.line_user_id, {"type": "postback", "postback": {"data": data}})
    run_tasks()
    return inbox(sim, resident)[before:]


def answer(confirmation: SafetyConfirmation, status: str) -> str:
    return postback_data(ANSWER, c=str(confirmation.pk), s=status)


def start(staff: Any, channel: Channel, *districts: str, **extra: Any) -> SafetyConfirmation:
    ids = list(District.objects.filter(code__in=districts).values_list("pk", flat=True))
    confirmation = safety_confirmation_start(
        actor=staff.user, channel=channel, title="12月3日 地震", district_ids=ids, **extra
    )
    run_tasks()
    return confirmation


def test_sent_to_one_district_only_as_an_emergency_with_three_answers(sim, channel, staff, town):
    confirmation = start(staff, channel, KITA)
    delivery = Delivery.objects.get(pk=confirmation.delivery_id)
    assert delivery.is_emergency and delivery.status == Delivery.Status.DONE
    run = DeliveryRun.objects.get(delivery=delivery)
    assert run.method == DeliveryRun.Method.MULTICAST and run.recipients == 3 and run.sent == 3
    received = delivered(sim, town[KITA][0])
    assert [m["type"] for m in received] == ["text", "template"]
    assert "【安否確認】12月3日 地震" in received[0]["text"]
    buttons = [a["label"] for a in received[1]["template"]["actions"]]
    assert buttons == ["無事", "支援が必要", "家族と連絡が取れない"]
    assert [i["action"]["label"] for i in received[1]["quickReply"]["items"]] == buttons
    assert all(a["type"] == "postback" for a in received[1]["template"]["actions"])
    for resident in town[MINAMI] + town["blocked"]:
        assert delivered(sim, resident) == []
    entry = AuditEntry.objects.get(action="disaster.safety.started")
    assert entry.data["recipients"] == 3 and entry.data["districts"] == [District.objects.get(code=KITA).pk]
    assert AuditEntry.objects.filter(action="messaging.delivery.sent_at_once").count() == 1


def test_english_residents_get_the_english_question(sim, channel, staff, town):
    start(staff, channel)
    english = delivered(sim, town[MINAMI][1])
    assert "Safety check" in english[0]["text"]
    assert [a["label"] for a in english[1]["template"]["actions"]] == [
        "Safe",
        "Need help",
        "Cannot reach family",
    ]


def test_answers_are_recorded_acknowledged_and_the_latest_wins(sim, channel, staff, town):
    confirmation = start(staff, channel, KITA)
    resident = town[KITA][0]
    reply = tap(sim, resident, answer(confirmation, "safe"))
    assert reply[0]["via"] == "reply" and "「無事」と受け付けました" in reply[0]["text"]
    assert SafetyAnswer.objects.get(confirmation=confirmation, resident=resident).status == "safe"
    reply = tap(sim, resident, answer(confirmation, "family"))
    assert "171" in reply[0]["text"] and "https://www.web171.jp/" in reply[0]["text"]
    answers = SafetyAnswer.objects.filter(confirmation=confirmation, resident=resident)
    assert [a.status for a in answers] == ["family"]
    # An older answer processed late (a redelivery) does not overwrite a newer one.
    safety_answer_record(
        confirmation, resident, status="safe", answered_at=answers[0].answered_at - timedelta(minutes=5)
    )
    assert SafetyAnswer.objects.get(confirmation=confirmation, resident=resident).status == "family"
    # Residents' answers write no audit entry (the chain is for staff actions).
    assert not AuditEntry.objects.filter(action__contains="answer").exists()
    kita = safety_rollup(confirmation)[0]
    assert (kita.district, kita.recipients, kita.cells, kita.pending, kita.percent) == (
        "北地区",
        3,
        [0, 0, 1],
        2,
        33,
    )


def test_needs_help_opens_an_inbox_conversation(sim, channel, staff, town):
    confirmation = start(staff, channel, KITA)
    resident = town[KITA][1]
    reply = tap(sim, resident, answer(confirmation, "help"))
    assert "職員が確認し" in reply[0]["text"] and "119" in reply[0]["text"]
    conversation = Conversation.objects.get(resident=resident)
    assert conversation.origin == Conversation.Origin.FEATURE and "安否確認" in conversation.topic
    # The bot now keeps quiet: what the resident writes goes to staff.
    sim.text(resident.line_user_id, "足をけがして動けません")
    run_tasks()
    assert conversation.messages.count() >= 1
    tap(sim, resident, answer(confirmation, "help"))  # again: still one conversation
    assert Conversation.objects.filter(resident=resident).count() == 1


def test_hostile_postbacks_are_refused_without_a_crash(sim, channel, staff, town):
    kita_only = start(staff, channel, KITA)
    south = town[MINAMI][0]
    refused = "このボタンは受け付けられませんでした。"
    # Someone else's confirmation: 北地区's, tapped from 南地区.
    assert tap(sim, south, answer(kita_only, "safe"))[0]["text"] == refused
    for data in [
        f"a={ANSWER}&c={kita_only.pk}&s=dead",
        f"a={ANSWER}&c=999999&s=safe",
        f"a={ANSWER}&c=-1&s=safe",
        f"a={ANSWER}&c={'9' * 40}&s=safe",
        f"a={ANSWER}&s=safe",
        f"a={ANSWER}&c={kita_only.pk}&s=safe&s=help%00",
    ]:
        assert tap(sim, town[KITA][0], data)[0]["text"] == refused, data
    assert not SafetyAnswer.objects.exists()
    safety_confirmation_close(kita_only, actor=staff.user)
    assert (
        tap(sim, town[KITA][0], answer(kita_only, "safe"))[0]["text"] == "この安否確認の受付は終了しました。"
    )
    assert not SafetyAnswer.objects.exists()


def test_blocked_residents_are_never_counted(sim, channel, staff, town):
    confirmation = start(staff, channel)
    leaving = town[MINAMI][0]
    tap(sim, leaving, answer(confirmation, "safe"))
    tap(sim, town[KITA][0], answer(confirmation, "safe"))
    total = safety_rollup(confirmation)[-1]
    assert (total.recipients, total.answered) == (5, 2)
    sim.send(leaving.line_user_id, {"type": "unfollow"})
    run_tasks()
    rows = safety_rollup(confirmation)
    assert [(r.district, r.recipients, r.answered, r.pending) for r in rows] == [
        ("北地区", 3, 1, 2),
        ("南地区", 1, 0, 1),
        ("合計", 4, 1, 3),
    ]


def test_the_re_ask_goes_to_non_responders_only_and_only_once(sim, channel, staff, town):
    confirmation = start(staff, channel, reask_after=timedelta(hours=3))
    tap(sim, town[KITA][0], answer(confirmation, "safe"))
    tap(sim, town[MINAMI][0], answer(confirmation, "help"))
    assert safety_reask_due() == 0  # not yet
    SafetyConfirmation.objects.filter(pk=confirmation.pk).update(
        reask_at=timezone.now() - timedelta(seconds=1)
    )
    assert safety_reask_due() == 1
    assert safety_reask_due() == 0
    run_tasks()

    def again(resident: Resident) -> int:
        return sum("【安否確認・再送】" in m.get("text", "") for m in inbox(sim, resident))

    assert [again(r) for r in town[KITA]] == [0, 1, 1]
    assert again(town[MINAMI][0]) == 0  # answered 支援が必要
    assert "[Safety check, resent]" in delivered(sim, town[MINAMI][1])[-2]["text"]
    assert again(town["blocked"][0]) == 0
    confirmation.refresh_from_db()
    assert confirmation.reasked_at is not None
    assert DeliveryRun.objects.get(delivery_id=confirmation.reask_delivery_id).recipients == 3
    # The periodic job is listed, and a tick later sends nothing more.
    from madoguchi.core.scheduling import PERIODIC_JOBS

    assert "madoguchi.disaster.services.safety_reask_due" in {job.function for job in PERIODIC_JOBS}
    assert safety_reask_due() == 0


def test_closed_confirmations_are_not_re_asked(sim, channel, staff, town):
    confirmation = start(staff, channel, reask_after=timedelta(hours=1))
    safety_confirmation_close(confirmation, actor=staff.user)
    SafetyConfirmation.objects.filter(pk=confirmation.pk).update(
        reask_at=timezone.now() - timedelta(seconds=1)
    )
    assert safety_reask_due() == 0


# Console


def test_console_start_needs_permission_csrf_and_confirmation(sim, channel, town, make_staff):
    manager = signed_in(make_staff(Role.DEPT_MANAGER))
    kita = District.objects.get(code=KITA)
    form = {"title": "地震", "district": [str(kita.pk)], "reask": "3"}
    page = manager.post("/console/safety/new/", form)
    assert page.status_code == 200 and "送信先: 3 人" in page.content.decode()
    assert not SafetyConfirmation.objects.exists()  # not without the confirmation
    for role in (Role.DEPT_STAFF, Role.OPERATOR, Role.COUNSELOR, Role.AUDITOR):
        assert (
            signed_in(make_staff(role, username=f"x-{role}"))
            .post("/console/safety/new/", {**form, "confirm": "yes"})
            .status_code
            == 403
        )
    strict = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    strict.cookies = manager.cookies
    assert strict.post("/console/safety/new/", {**form, "confirm": "yes"}).status_code == 403
    assert not SafetyConfirmation.objects.exists()
    done = manager.post("/console/safety/new/", {**form, "confirm": "yes"})
    confirmation = SafetyConfirmation.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/console/safety/{confirmation.pk}/"
    assert confirmation.district_ids == [kita.pk] and confirmation.reask_at is not None
    assert AuditEntry.objects.filter(action="disaster.safety.started").count() == 1


def test_console_rollup_refreshes_and_lists_who_needs_help_for_inbox_staff(
    sim, channel, staff, town, make_staff
):
    confirmation = start(staff, channel)
    tap(sim, town[KITA][0], answer(confirmation, "help"))
    tap(sim, town[KITA][1], answer(confirmation, "safe"))
    url = f"/console/safety/{confirmation.pk}/"
    dept = signed_in(make_staff(Role.DEPT_STAFF))
    page = dept.get(url).content.decode()
    assert 'data-refresh="' in page and "北地区" in page and "40%" in page
    conversation = Conversation.objects.get(resident=town[KITA][0])
    assert f"/console/inbox/{conversation.pk}/" in page
    assert AuditEntry.objects.filter(action="disaster.safety.help_listed").count() == 1
    fragment = dept.get(url + "?fragment=1").content.decode()
    assert "<tr" in fragment and "<html" not in fragment
    # 広報 sees the counts, not who needs help (names are for those who handle the inbox).
    kouhou = signed_in(make_staff(Role.DELIVERY, username="kouhou2"))
    assert "safety-help" not in kouhou.get(url).content.decode()
    for role in (Role.OPERATOR, Role.COUNSELOR, Role.AUDITOR):
        assert signed_in(make_staff(role, username=f"y-{role}")).get(url).status_code == 403
    # Closing: permission, CSRF, a confirmation box.
    assert dept.post(url + "close/", {"confirm": "yes"}).status_code == 403
    manager = signed_in(make_staff(Role.DEPT_MANAGER))
    manager.post(url + "close/", {})
    assert SafetyConfirmation.objects.get().status == "open"
    manager.post(url + "close/", {"confirm": "yes"})
    assert SafetyConfirmation.objects.get().status == "closed"


def _tap_later(sim: Sim, resident: Resident, data: str) -> None:
    """A tap LINE posts now, processed with the others at the next run_tasks (one batch)."""
    sim.send(resident.line_user_id, {"type": "postback", "postback": {"data": data}})


def test_a_burst_of_answers_is_kept_together_and_late_acknowledgements_go_in_multicasts(
    sim, channel, staff, town, settings
):
    settings.LINE_REPLY_TOKEN_SECONDS = 0  # processed too late for the reply tokens: pushes
    confirmation = start(staff, channel)
    (kita_a, kita_b, kita_c), (minami_ja, minami_en) = town[KITA], town[MINAMI]
    everyone = (kita_a, kita_b, kita_c, minami_ja, minami_en)
    for resident, status in zip(everyone, ["safe", "safe", "family", "help", "safe"], strict=True):
        _tap_later(sim, resident, answer(confirmation, status))

    before = sim.stats()["endpoints"]
    run_tasks()
    after = sim.stats()["endpoints"]

    def calls(endpoint: str) -> int:
        return after.get(endpoint, {}).get("requests", 0) - before.get(endpoint, {}).get("requests", 0)

    # The two Japanese 無事 say the same: one multicast. The others are alone: pushes.
    assert calls("POST /v2/bot/message/multicast") == 1
    assert calls("POST /v2/bot/message/push") == 3
    for resident in (kita_a, kita_b):
        [ack] = [m for m in inbox(sim, resident) if "受け付けました" in m.get("text", "")]
        assert ack["via"] == "multicast" and "「無事」" in ack["text"]
    [english] = [m for m in inbox(sim, minami_en) if m["via"] == "push"]
    assert english["text"] == "Thank you: we have recorded that you are safe."
    answers = dict(
        SafetyAnswer.objects.filter(confirmation=confirmation).values_list("resident_id", "status")
    )
    assert answers == {
        kita_a.pk: "safe",
        kita_b.pk: "safe",
        kita_c.pk: "family",
        minami_ja.pk: "help",
        minami_en.pk: "safe",
    }
    assert Conversation.objects.filter(resident=minami_ja, origin=Conversation.Origin.FEATURE).count() == 1
    # Each answer has its own request row, sharing the multicast's outcome and retry key.
    rows = OutboundRequest.objects.filter(
        kind=OutboundRequest.Kind.MULTICAST, dedupe_key__startswith="answer:"
    )
    assert rows.count() == 2 and {row.status for row in rows} == {OutboundRequest.Status.SENT}
    assert len({row.retry_key for row in rows}) == 1

    # Processing the same events again (a replay) sends no acknowledgement twice.
    counted = {r.pk: len(inbox(sim, r)) for r in everyone}
    assert events_replay(event_ids=list(InboundEvent.objects.values_list("webhook_event_id", flat=True))) > 0
    run_tasks()
    assert {r.pk: len(inbox(sim, r)) for r in everyone} == counted
    assert Conversation.objects.filter(resident=minami_ja, origin=Conversation.Origin.FEATURE).count() == 1


def test_a_resident_who_also_wrote_in_the_batch_is_answered_in_order(sim, channel, staff, town):
    confirmation = start(staff, channel, KITA)
    resident = town[KITA][0]
    before = len(inbox(sim, resident))
    _tap_later(sim, resident, answer(confirmation, "safe"))
    sim.text(resident.line_user_id, "ヘルプ")
    run_tasks()
    first, second = inbox(sim, resident)[before:]
    assert "「無事」と受け付けました" in first["text"]
    assert "知りたいこと" in second["text"]


def test_when_the_batch_handler_fails_each_answer_goes_the_ordinary_way(
    sim, channel, staff, town, monkeypatch
):
    from madoguchi.chatbot import registry

    def broken(turns: list[Any]) -> list[Any]:
        raise RuntimeError("a bug in the batch handler")

    monkeypatch.setitem(registry._batch_postback_actions, ANSWER, broken)
    confirmation = start(staff, channel, KITA)
    for resident in town[KITA]:
        _tap_later(sim, resident, answer(confirmation, "safe"))
    run_tasks()
    assert SafetyAnswer.objects.filter(confirmation=confirmation).count() == len(town[KITA])
    for resident in town[KITA]:
        assert any("「無事」と受け付けました" in m.get("text", "") for m in inbox(sim, resident))
    assert not InboundEvent.objects.exclude(status=InboundEvent.Status.DONE).exists()


def test_answers_in_time_for_their_reply_tokens_are_replied_to_several_at_a_time(sim, channel, staff, town):
    from django.db import connection

    confirmation = start(staff, channel)
    everyone = [*town[KITA], *town[MINAMI]]
    for resident in everyone:
        _tap_later(sim, resident, answer(confirmation, "safe"))
    # Each reply waits 0.4 s at LINE: one after another, five would take 2 s.
    sim.fault(path="/v2/bot/message/reply", method="POST", count=len(everyone), delay=0.4)
    started = time.monotonic()
    run_tasks()
    elapsed = time.monotonic() - started
    acknowledged = ("「無事」と受け付けました", "Thank you: we have recorded that you are safe.")
    for resident in everyone:
        replies = [m.get("text", "") for m in inbox(sim, resident) if m["via"] == "reply"]
        assert any(text.startswith(acknowledged) for text in replies)
    assert SafetyAnswer.objects.filter(confirmation=confirmation).count() == len(everyone)
    if connection.vendor == "postgresql":  # SQLite takes one writer at a time: one by one
        assert elapsed < 0.4 * len(everyone) * 0.75
