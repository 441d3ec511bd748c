"""List pages make the same number of queries with 5 rows as with 60 (no per-row queries)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.accounts.services import staff_create
from madoguchi.channels.line.models import InboundEvent
from madoguchi.chatbot.models import Keyword
from madoguchi.core.audit import audit_record
from madoguchi.faq.models import FaqEntry, Question
from madoguchi.residents.models import Resident


def _grow(kind, resident, departments, start, end):
    for n in range(start, end):
        if kind == "residents":
            Resident.objects.create(
                channel=resident.channel, line_user_id=f"U{n:032x}", display_name=f"住民{n}"
            )
        elif kind == "audit":
            audit_record(action="test.row", data={"n": n})
        elif kind == "keywords":
            Keyword.objects.create(phrase=f"語{n}", reply_text="x", department=departments["gomi"])
        elif kind == "events":
            InboundEvent.objects.create(
                channel=resident.channel,
                webhook_event_id=f"01Q{n}",
                event_type="message",
                occurred_at=resident.created_at,
                payload={},
                status="failed",
            )
        elif kind == "faq":
            FaqEntry.objects.create(external_id=f"Q{n}", question=f"質問{n}", answer="答え")
        elif kind == "questions":
            Question.objects.create(
                text=f"質問{n}の件", outcome="abstained", candidates=[{"id": "Q1", "score": 0.1}]
            )
        elif kind == "staff":
            staff_create(
                username=f"staff{n}",
                password="Kinkakuji-Temple-1397",
                role="dept_staff",
                department=departments["doro"],
            )


@pytest.mark.parametrize(
    ("kind", "url_name", "role"),
    [
        ("residents", "console:residents", "dept_staff"),
        ("audit", "console:audit", "auditor"),
        ("keywords", "console:keywords", "dept_staff"),
        ("events", "console:events", "admin"),
        ("faq", "console:faq", "dept_staff"),
        ("questions", "console:faq_questions", "dept_staff"),
        ("staff", "console:staff", "admin"),
    ],
)
def test_list_pages_keep_a_constant_number_of_queries(
    staff_client, resident, departments, kind, url_name, role
):
    client = staff_client(role)
    _grow(kind, resident, departments, 0, 5)
    client.get(reverse(url_name))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(url_name)).status_code == 200
    _grow(kind, resident, departments, 5, 60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse(url_name)).status_code == 200
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
