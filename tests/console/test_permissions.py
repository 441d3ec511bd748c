"""Every role against every console view: allowed or denied, as the table below says.

The table is written out here on purpose (not derived from accounts.roles), so that a change
to a role's permissions shows up as a failing test to be agreed on.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.chatbot.models import Keyword
from madoguchi.core.models import AuditEntry
from tests.console.conftest import ALL_ROLES

A, D, S, M, C, OP, U = "admin", "delivery", "dept_staff", "dept_manager", "counselor", "operator", "auditor"

# view name, url kwargs, method, roles allowed
MATRIX = [
    ("console:dashboard", {}, "get", {A, D, S, M, C, OP, U}),
    ("console:residents", {}, "get", {S, M, C}),
    ("console:resident", {"resident_id": "R"}, "get", {S, M, C}),
    ("console:resident_export", {"resident_id": "R", "fmt": "json"}, "get", {M}),
    ("console:resident_export", {"resident_id": "R", "fmt": "csv"}, "get", {M}),
    ("console:resident_erasure", {"resident_id": "R"}, "post", {M}),
    ("console:resident_tag_add", {"resident_id": "R"}, "post", {S, M}),
    ("console:tags", {}, "get", {S, M, C}),
    ("console:audit", {}, "get", {A, U}),
    ("console:audit_export", {}, "get", {U}),
    ("console:faq", {}, "get", {A, S, M}),
    ("console:faq_new", {}, "get", {A, S, M}),
    ("console:faq_export", {}, "get", {A, S, M}),
    ("console:faq_export_xlsx", {}, "get", {A, S, M}),
    ("console:faq_questions", {}, "get", {A, S, M}),
    ("console:faq_dismiss", {}, "post", {A, S, M}),
    ("console:faq_synonyms", {}, "get", {A, S, M}),
    ("console:faq_import", {}, "post", {A, S, M}),
    ("console:scenarios", {}, "get", {A, D, M}),
    ("console:scenario_new", {}, "get", {A, D, M}),
    ("console:scenario", {"scenario_id": "SC"}, "get", {A, D, M}),
    ("console:scenario_new_yaml", {}, "get", {A, D, M}),
    ("console:scenario_edit", {"scenario_id": "SC"}, "get", {A, D, M}),
    ("console:scenario_edit", {"scenario_id": "SC"}, "post", {A, D, M}),
    ("console:scenario_edit_yaml", {"scenario_id": "SC"}, "get", {A, D, M}),
    ("console:scenario_publish", {"scenario_id": "SC"}, "post", {A, D, M}),
    ("console:scenario_rollback", {"scenario_id": "SC", "number": 1}, "post", {A, D, M}),
    ("console:scenario_toggle", {"scenario_id": "SC"}, "post", {A, D, M}),
    ("console:scenario_export", {"scenario_id": "SC"}, "get", {A, D, M}),
    ("console:scenario_import", {}, "post", {A, D, M}),
    ("console:scenario_preview", {"scenario_id": "SC"}, "post", {A, D, M}),
    ("console:richmenus", {}, "get", {A, D}),
    ("console:richmenu_new", {}, "get", {A, D}),
    ("console:richmenu_edit", {"menu_id": "RM"}, "get", {A, D}),
    ("console:richmenu_image", {"menu_id": "RM"}, "get", {A, D}),
    ("console:richmenu_deactivate", {"menu_id": "RM"}, "post", {A, D}),
    ("console:richmenus_publish", {}, "post", {A, D}),
    ("console:disaster_switch", {}, "get", {A, D}),
    ("console:segments", {}, "get", {D, M}),
    ("console:segment_new", {}, "get", {D, M}),
    ("console:segment_edit", {"segment_id": "SG"}, "get", {D, M}),
    ("console:segment_count", {}, "post", {D, M}),
    ("console:segment_sample", {}, "post", {M}),
    ("console:deliveries", {}, "get", {D, M}),
    ("console:delivery_new", {}, "get", {D, M}),
    ("console:delivery", {"delivery_id": "DL"}, "get", {D, M}),
    ("console:delivery_edit", {"delivery_id": "DL"}, "get", {D, M}),
    ("console:delivery_progress", {"delivery_id": "DL"}, "get", {D, M}),
    ("console:delivery_submit", {"delivery_id": "DL"}, "post", {D, M}),
    ("console:delivery_decide", {"delivery_id": "DL", "action": "approve"}, "post", {D, M}),
    ("console:delivery_decide", {"delivery_id": "DL", "action": "cancel"}, "post", {D, M}),
    ("console:delivery_test", {"delivery_id": "DL"}, "post", {D, M}),
    ("console:delivery_insight", {"delivery_id": "DL", "run_number": 1}, "post", {D, M}),
    ("console:step_sequences", {}, "get", {D, M}),
    ("console:step_sequence_new", {}, "get", {D, M}),
    ("console:step_sequence", {"sequence_id": "SQ"}, "get", {D, M}),
    ("console:step_sequence_toggle", {"sequence_id": "SQ"}, "post", {D, M}),
    ("console:step_new", {"sequence_id": "SQ"}, "get", {D, M}),
    ("console:step_edit", {"sequence_id": "SQ", "step_id": "ST"}, "get", {D, M}),
    ("console:my_settings", {}, "get", {A, D, S, M, C, OP, U}),
    ("console:keywords", {}, "get", {A, S, M}),
    ("console:keyword_new", {}, "get", {A, S, M}),
    ("console:inbox", {}, "get", {S, M, OP}),
    ("console:inbox_conversation", {"conversation_id": "I"}, "get", {S, M, OP}),
    ("console:inbox_messages", {"conversation_id": "I"}, "get", {S, M, OP}),
    ("console:inbox_action", {"conversation_id": "I", "action": "note"}, "post", {S, M, OP}),
    ("console:inbox_attachment", {"conversation_id": "I", "message_id": "IM"}, "get", {S, M, OP}),
    ("console:inbox_start", {"resident_id": "R"}, "post", {S, M, OP}),
    ("console:inbox_figures", {}, "get", {A, M, C}),
    ("console:canned", {}, "get", {M, C}),
    ("console:counseling", {}, "get", {C}),
    ("console:counseling_conversation", {"conversation_id": "K"}, "get", {C}),
    ("console:counseling_messages", {"conversation_id": "K"}, "get", {C}),
    ("console:counseling_action", {"conversation_id": "K", "action": "note"}, "post", {C}),
    ("console:counseling_attachment", {"conversation_id": "K", "message_id": "KM"}, "get", {C}),
    ("console:reports", {}, "get", {S, M}),
    ("console:report_map", {}, "get", {S, M}),
    ("console:report_markers", {}, "get", {S, M}),
    ("console:report", {"report_id": "RP"}, "get", {S, M}),
    ("console:report_action", {"report_id": "RP", "action": "note"}, "post", {S, M}),
    ("console:report_photo", {"report_id": "RP", "photo_id": "RPP"}, "get", {S, M}),
    ("console:report_export", {"fmt": "csv"}, "get", {M}),
    ("console:report_export", {"fmt": "xlsx"}, "get", {M}),
    ("console:garbage_items", {}, "get", {S, M}),
    ("console:garbage_item_new", {}, "get", {S, M}),
    ("console:garbage_item", {"item_id": "GI"}, "get", {S, M}),
    ("console:garbage_item", {"item_id": "GI"}, "post", {S, M}),
    ("console:garbage_categories", {}, "get", {S, M}),
    ("console:garbage_category", {"category_id": "GC"}, "get", {S, M}),
    ("console:garbage_areas", {}, "get", {S, M}),
    ("console:garbage_area", {"area_id": "GA"}, "get", {S, M}),
    ("console:garbage_area", {"area_id": "GA"}, "post", {S, M}),
    ("console:garbage_center", {"center_id": "GK"}, "get", {S, M}),
    ("console:garbage_center", {"center_id": "GK"}, "post", {S, M}),
    ("console:garbage_import_sorting", {}, "post", {S, M}),
    ("console:garbage_import_5374", {}, "post", {S, M}),
    ("console:bulky", {}, "get", {S, M}),
    ("console:bulky_export", {"fmt": "csv"}, "get", {S, M}),
    ("console:bulky_export", {"fmt": "xlsx"}, "get", {S, M}),
    ("console:bulky_booking_action", {"booking_id": "BK", "action": "cancel"}, "post", {S, M}),
    ("console:bulky_booking_action", {"booking_id": "BK", "action": "move"}, "post", {S, M}),
    ("console:bulky_days", {}, "get", {S, M}),
    ("console:bulky_day_update", {"day_id": "BD"}, "post", {S, M}),
    ("console:bulky_items", {}, "get", {S, M}),
    ("console:bulky_item", {"item_id": "BI"}, "get", {S, M}),
    ("console:bulky_phone", {}, "get", {S, M}),
    ("console:alerts", {}, "get", {A, D, M}),
    ("console:alert_rules", {}, "get", {D, M}),
    ("console:alert_feeds", {}, "get", {D, M}),
    ("console:alert_feed_new", {}, "get", {D, M}),
    ("console:alert_feed_new", {}, "post", {D, M}),
    ("console:alert_feed_edit", {"feed_id": "AF"}, "get", {D, M}),
    ("console:alert_feed_edit", {"feed_id": "AF"}, "post", {D, M}),
    ("console:alert_feed_active", {"feed_id": "AF"}, "post", {D, M}),
    ("console:alert_feed_poll", {"feed_id": "AF"}, "post", {D, M}),
    ("console:api_keys", {}, "get", {A}),
    ("console:events", {}, "get", {A}),
    ("console:events_replay", {}, "post", {A}),
    ("console:staff", {}, "get", {A}),
    ("admin:index", {}, "get", {A}),
    ("admin:core_channel_changelist", {}, "get", {A}),
    ("admin:reports_category_changelist", {}, "get", {A}),
]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(
    ("name", "kwargs", "method", "allowed"), MATRIX, ids=[f"{m[0]}-{m[2]}-{i}" for i, m in enumerate(MATRIX)]
)
def test_role_against_view(
    staff_client,
    resident,
    conversations,
    scenario,
    rich_menu,
    messaging_objects,
    report,
    garbage_objects,
    bulky,
    alert_feed,
    role,
    name,
    kwargs,
    method,
    allowed,
):
    client = staff_client(role)
    made = {**conversations, **messaging_objects, **report, **garbage_objects, **bulky}
    ids = {
        "R": resident.pk,
        "SC": scenario.pk,
        "RM": rich_menu.pk,
        "AF": alert_feed.pk,
        **{key: value.pk for key, value in made.items()},
    }
    kwargs = {key: ids.get(value, value) for key, value in kwargs.items()}
    url = reverse(name, kwargs=kwargs)
    response = getattr(client, method)(url, {"reason": "テスト", "text": "メモ"} if method == "post" else {})
    if role in allowed:
        assert response.status_code in (200, 302), (role, name, response.status_code)
        assert "/login/" not in response.get("Location", "")
    elif name.startswith("admin:"):
        refused = client.get(url, follow=True)  # via the admin's login, which refuses in the console's words
        assert refused.status_code == 403
        assert "この画面を表示する権限がありません" in refused.content.decode()
    else:
        assert response.status_code == 403, (role, name, response.status_code)
        assert "この画面を表示する権限がありません" in response.content.decode()
        assert AuditEntry.objects.filter(action="console.access.denied", actor_label=f"{role}-gomi").exists()


def test_signed_out_visitors_are_sent_to_login(client, db):
    for name in ("console:dashboard", "console:audit", "console:residents"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_navigation_lists_only_what_the_role_may_open(staff_client, db):
    page = staff_client("auditor").get(reverse("console:dashboard")).content.decode()
    assert reverse("console:audit") in page
    for hidden in ("console:residents", "console:staff", "console:keywords", "admin:index"):
        assert f'href="{reverse(hidden)}"' not in page


def test_department_staff_see_only_their_departments_keywords(staff_client, departments):
    Keyword.objects.create(phrase="粗大ごみ", reply_text="予約制です", department=departments["gomi"])
    road = Keyword.objects.create(
        phrase="道路の穴", reply_text="通報してください", department=departments["doro"]
    )
    Keyword.objects.create(phrase="ヘルプ", reply_text="どうぞ")  # city-wide
    client = staff_client("dept_staff", "gomi")
    page = client.get(reverse("console:keywords")).content.decode()
    assert "粗大ごみ" in page and "ヘルプ" in page and "道路の穴" not in page
    assert client.get(reverse("console:keyword_edit", kwargs={"keyword_id": road.pk})).status_code == 403
    edit = client.post(
        reverse("console:keyword_edit", kwargs={"keyword_id": road.pk}),
        {"phrase": "乗っ取り", "match": "exact", "reply_text": "x", "priority": 0},
    )
    assert edit.status_code == 403
    road.refresh_from_db()
    assert road.phrase == "道路の穴"
    # An administrator oversees every department.
    assert "道路の穴" in staff_client("admin", None).get(reverse("console:keywords")).content.decode()


def test_a_new_keyword_belongs_to_the_authors_department(staff_client, departments):
    client = staff_client("dept_manager", "doro")
    response = client.post(
        reverse("console:keyword_new"),
        {"phrase": "倒木", "match": "contains", "reply_text": "通報を", "priority": 1, "is_active": "on"},
    )
    assert response.status_code == 302
    assert Keyword.objects.get(phrase="倒木").department == departments["doro"]
    assert AuditEntry.objects.filter(action="chatbot.keyword.created").exists()
