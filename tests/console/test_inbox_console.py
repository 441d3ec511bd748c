"""The inbox screens: replying, notes, assignment, live updates, department scoping, and the
counseling room no other role can enter (views, search, exports, JSON)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.roles import Role
from madoguchi.channels.line.models import InboundEvent
from madoguchi.core.models import AuditEntry
from madoguchi.inbox.models import Conversation, Message
from tests.console.conftest import ALL_ROLES

NON_COUNSELORS = [role for role in ALL_ROLES if role != Role.COUNSELOR]
SECRET = "誰にも言えない家のこと"


@pytest.fixture
def confided(conversations) -> Conversation:
    conversation = conversations["K"]
    Message.objects.create(conversation=conversation, direction="in", body=SECRET)
    return conversation


@pytest.mark.parametrize("role", NON_COUNSELORS)
def test_no_other_role_reaches_counseling_content(staff_client, confided, conversations, role):
    client = staff_client(role)
    message = conversations["KM"]
    urls = [
        reverse("console:counseling"),
        reverse("console:counseling_conversation", args=[confided.pk]),
        reverse("console:counseling_messages", args=[confided.pk]) + "?after=0",
        reverse("console:counseling_attachment", args=[confided.pk, message.pk]),
        # The inquiry screens do not open counseling either, whatever id is typed in.
        reverse("console:inbox_conversation", args=[confided.pk]),
        reverse("console:inbox_messages", args=[confided.pk]) + "?after=0",
        reverse("console:inbox_attachment", args=[confided.pk, message.pk]),
        # Nor do the residents' search, page and exports.
        reverse("console:residents") + "?q=相談者",
        reverse("console:resident", args=[confided.resident_id]),
        reverse("console:resident_export", args=[confided.resident_id, "json"]),
        reverse("console:resident_export", args=[confided.resident_id, "csv"]),
        reverse("console:audit_export"),
        reverse("console:inbox_figures"),
    ]
    for url in urls:
        response = client.get(url)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        assert SECRET not in body, (role, url)
        assert "相談者A" not in body, (role, url)
        assert response.status_code in (200, 302, 403, 404), (role, url, response.status_code)
    for action in ("reply", "note", "close", "assign"):
        response = client.post(
            reverse("console:counseling_action", args=[confided.pk, action]), {"text": "x"}
        )
        assert response.status_code == 403
        response = client.post(reverse("console:inbox_action", args=[confided.pk, action]), {"text": "x"})
        assert response.status_code in (403, 404)
    assert confided.messages.count() == 2  # nothing was added
    confided.refresh_from_db()
    assert confided.status == Conversation.Status.NEW


def test_the_counselor_reads_and_answers(staff_client, confided, conversations):
    client = staff_client("counselor", None)
    listing = client.get(reverse("console:counseling")).content.decode()
    assert "相談者A" in listing
    assert "山田 花子" not in listing  # inquiries are not the counselors' list
    page = client.get(reverse("console:counseling_conversation", args=[confided.pk])).content.decode()
    assert SECRET in page
    assert AuditEntry.objects.filter(action="inbox.conversation.viewed", object_id=str(confided.pk)).exists()
    response = client.post(
        reverse("console:counseling_action", args=[confided.pk, "reply"]), {"text": "お話を聞かせてください"}
    )
    assert response.status_code == 302
    reply = confided.messages.get(direction="out")
    assert reply.body == "お話を聞かせてください" and reply.delivery == Message.Delivery.PENDING
    entry = AuditEntry.objects.get(action="inbox.message.sent")
    assert "お話" not in json.dumps(entry.data, ensure_ascii=False)  # bodies never reach the log


def test_staff_reply_note_assign_and_close_from_the_console(staff_client, conversations, make_staff):
    conversation = conversations["I"]
    client = staff_client("dept_staff")
    url = reverse("console:inbox_conversation", args=[conversation.pk])
    page = client.get(url).content.decode()
    photo = reverse("console:inbox_attachment", args=[conversation.pk, conversations["IM"].pk])
    assert f'src="{photo}"' in page  # the resident's photo is shown
    conversation.refresh_from_db()
    assert conversation.unread == 0

    client.post(reverse("console:inbox_action", args=[conversation.pk, "note"]), {"text": "住所を確認中"})
    client.post(reverse("console:inbox_action", args=[conversation.pk, "reply"]), {"text": "確認します"})
    empty = client.post(reverse("console:inbox_action", args=[conversation.pk, "reply"]), {"text": "   "})
    assert empty.status_code == 302
    kinds = list(conversation.messages.values_list("direction", flat=True))
    assert kinds.count("note") == 1 and kinds.count("out") == 1

    colleague = make_staff("dept_staff", "gomi", username="colleague")
    client.post(
        reverse("console:inbox_action", args=[conversation.pk, "assign"]), {"assignee": colleague.user.pk}
    )
    conversation.refresh_from_db()
    assert conversation.assigned_to == colleague.user
    outsider = make_staff("dept_staff", "doro", username="outsider")
    refused = client.post(
        reverse("console:inbox_action", args=[conversation.pk, "assign"]), {"assignee": outsider.user.pk}
    )
    assert refused.status_code == 403  # not someone who may read this department's inquiries

    client.post(reverse("console:inbox_action", args=[conversation.pk, "close"]))
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "inbox.note.added",
        "inbox.message.sent",
        "inbox.conversation.assigned",
        "inbox.conversation.closed",
    } <= actions


def test_new_messages_arrive_by_polling(staff_client, conversations):
    conversation = conversations["I"]
    client = staff_client("dept_staff")
    first = client.get(reverse("console:inbox_messages", args=[conversation.pk]) + "?after=0").json()
    last = first["last"]
    assert last == conversations["IM"].pk
    Message.objects.create(
        conversation=conversation, direction="in", body="<script>alert(1)</script>追加です"
    )
    update = client.get(reverse("console:inbox_messages", args=[conversation.pk]) + f"?after={last}").json()
    assert "追加です" in update["html"]
    assert "<script>" not in update["html"]  # escaped: a resident's words never run in the console
    assert (
        client.get(reverse("console:inbox_messages", args=[conversation.pk]) + "?after=x").status_code == 200
    )
    rows = client.get(reverse("console:inbox") + "?fragment=1").content.decode()
    assert "山田 花子" in rows and "<html" not in rows


def test_inquiries_are_scoped_to_the_department(staff_client, conversations, departments):
    conversation = conversations["I"]
    Conversation.objects.filter(pk=conversation.pk).update(department=departments["doro"])
    gomi = staff_client("dept_staff", "gomi")
    assert "山田 花子" not in gomi.get(reverse("console:inbox")).content.decode()
    assert gomi.get(reverse("console:inbox_conversation", args=[conversation.pk])).status_code == 404
    doro = staff_client("dept_staff", "doro")
    assert "山田 花子" in doro.get(reverse("console:inbox")).content.decode()


def test_posts_without_the_csrf_token_are_refused(make_staff, conversations):
    from tests.console.conftest import signed_in

    client = signed_in(make_staff("dept_staff"))
    client.handler.enforce_csrf_checks = True
    response = client.post(
        reverse("console:inbox_action", args=[conversations["I"].pk, "reply"]), {"text": "なりすまし"}
    )
    assert response.status_code == 403
    assert not conversations["I"].messages.filter(direction="out").exists()


def test_attachments_are_served_so_they_cannot_run(staff_client, conversations):
    client = staff_client("dept_staff")
    response = client.get(
        reverse("console:inbox_attachment", args=[conversations["I"].pk, conversations["IM"].pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_figures_show_counts_not_content(staff_client, confided, conversations):
    Conversation.objects.filter(pk=confided.pk).update(crisis=True)
    page = staff_client("dept_manager").get(reverse("console:inbox_figures")).content.decode()
    assert "相談 (件数のみ)" in page
    for private in (SECRET, "相談者A", "山田 花子", "I の写真"):
        assert private not in page


def test_a_sealed_event_shows_no_content_on_the_residents_page(staff_client, resident):
    from madoguchi.channels.line.inbound import sealed_payload

    InboundEvent.objects.create(
        channel=resident.channel,
        webhook_event_id="01SEALED",
        event_type="message",
        source_user_id=resident.line_user_id,
        occurred_at="2026-11-20T10:00:00+09:00",
        payload=sealed_payload(
            {"type": "message", "message": {"type": "text", "text": SECRET}, "source": {"userId": "x"}}
        ),
    )
    client: Client = staff_client("dept_manager")
    page = client.get(reverse("console:resident", args=[resident.pk])).content.decode()
    export = client.get(reverse("console:resident_export", args=[resident.pk, "json"])).content.decode()
    assert SECRET not in page and SECRET not in export


def test_staff_can_write_first_from_the_residents_page(staff_client, resident):
    client = staff_client("dept_staff")
    page = client.get(reverse("console:resident", args=[resident.pk])).content.decode()
    assert reverse("console:inbox_start", args=[resident.pk]) in page
    response = client.post(reverse("console:inbox_start", args=[resident.pk]))
    conversation = Conversation.objects.get(resident=resident)
    assert response["Location"] == reverse("console:inbox_conversation", args=[conversation.pk])
    assert conversation.origin == Conversation.Origin.STAFF
    assert conversation.department.code == "gomi"
    # Again: the same conversation, not a second one.
    client.post(reverse("console:inbox_start", args=[resident.pk]))
    assert Conversation.objects.filter(resident=resident).count() == 1


def test_nobody_writes_first_on_the_counseling_line(staff_client, conversations):
    confiding = conversations["K"].resident
    for role in ("dept_staff", "dept_manager", "operator"):
        response = staff_client(role).post(reverse("console:inbox_start", args=[confiding.pk]))
        assert response.status_code == 404
