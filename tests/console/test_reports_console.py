"""Staff handle defect reports in the console: status back to the resident in LINE (linesim),
notes, routing, duplicates and merging, photos served to staff only, exports, API keys."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from openpyxl import load_workbook

from madoguchi.core.models import AuditEntry
from madoguchi.reports.models import ApiKey, Category, Follower, Report, Update
from madoguchi.reports.photos import photo_clean
from madoguchi.reports.services import draft_start, photo_keep, report_submit
from madoguchi.residents.models import Resident
from tests.conftest import run_tasks
from tests.console.conftest import signed_in
from tests.reports.conftest import jpeg

FIRST, SECOND = "U" + "6" * 32, "U" + "7" * 32


@pytest.fixture
def road(departments):
    return Category.objects.create(code="road", name="道路", department=departments["doro"])


def submitted(channel, user, category, *, lat=35.4037, lng=139.3459, text="穴があります") -> Report:
    resident, _ = Resident.objects.get_or_create(channel=channel, line_user_id=user)
    report = draft_start(resident, category)
    Report.objects.filter(pk=report.pk).update(latitude=lat, longitude=lng, description=text, place="map")
    photo_keep(report, photo_clean(jpeg()))
    return report_submit(report)


@pytest.fixture
def friends(sim, channel):
    """Both residents follow the channel in linesim (LINE pushes only to friends)."""
    for user in (FIRST, SECOND):
        sim.send(user, {"type": "follow"})
    run_tasks()


def pushed_texts(sim, user):
    return [m.get("text", "") for m in sim.messages(user) if m["via"] == "push"]


def test_status_changes_reach_the_resident_in_line(sim, channel, friends, road, make_staff):
    report = submitted(channel, FIRST, road)
    client = signed_in(make_staff("dept_staff", "doro"))
    page = client.get(f"/console/reports/{report.pk}/").content.decode()
    assert report.number in page and "穴があります" in page
    response = client.post(
        f"/console/reports/{report.pk}/status/",
        {"status": "in_progress", "message": "明日、現地を確認します。"},
    )
    assert response.status_code == 302
    run_tasks()
    texts = pushed_texts(sim, FIRST)
    assert (
        len(texts) == 1
        and "対応中" in texts[0]
        and "明日、現地を確認します。" in texts[0]
        and report.number in texts[0]
    )
    # 対応不可 needs a reason, which the resident is told.
    client.post(f"/console/reports/{report.pk}/status/", {"status": "rejected"})
    assert Report.objects.get().status == Report.Status.IN_PROGRESS
    client.post(
        f"/console/reports/{report.pk}/status/",
        {"status": "rejected", "reason": "私有地のため市では対応できません"},
    )
    run_tasks()
    assert "私有地のため市では対応できません" in pushed_texts(sim, FIRST)[-1]
    assert Update.objects.filter(kind="status", delivery="sent").count() == 2
    assert AuditEntry.objects.filter(action="reports.report.status_changed").count() == 2
    assert AuditEntry.objects.filter(action="reports.report.viewed").exists()


def test_script_in_a_description_is_shown_as_text(channel, road, make_staff):
    report = submitted(channel, FIRST, road, text="<script>alert('x')</script><img src=x onerror=alert(1)>")
    page = signed_in(make_staff("dept_staff", "doro")).get(f"/console/reports/{report.pk}/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_a_department_sees_its_reports_and_unrouted_ones(channel, road, make_staff, departments):
    mine = submitted(channel, FIRST, road)
    other = submitted(
        channel, SECOND, Category.objects.create(code="park", name="公園", department=departments["gomi"])
    )
    client = signed_in(make_staff("dept_staff", "doro"))
    listing = client.get("/console/reports/").content.decode()
    assert mine.number in listing and other.number not in listing
    assert client.get(f"/console/reports/{other.pk}/").status_code == 404
    assert client.get(f"/console/reports/{other.pk}/photos/{other.photos.get().pk}").status_code == 404
    # Routed to 道路維持課, the report leaves ごみ減量課's list.
    signed_in(make_staff("dept_manager", "gomi", username="gomi-boss")).post(
        f"/console/reports/{other.pk}/route/", {"department": departments["doro"].pk}
    )
    assert other.number in client.get("/console/reports/").content.decode()


def test_filters_and_map_markers(channel, road, make_staff, departments):
    near = submitted(channel, FIRST, road)
    far = submitted(channel, SECOND, road, lat=35.46, lng=139.40)
    Report.objects.filter(pk=far.pk).update(status="done")
    client = signed_in(make_staff("dept_staff", "doro"))
    markers = client.get("/console/reports/markers.json").json()["markers"]
    assert [m["number"] for m in markers] == [near.number]  # open ones by default
    markers = client.get("/console/reports/markers.json?status=all").json()["markers"]
    assert {m["number"] for m in markers} == {near.number, far.number}
    assert (
        client.get("/console/reports/markers.json?status=done&category=999&since=nonsense").status_code == 200
    )
    page = client.get("/console/reports/map/?status=all").content.decode()
    assert 'data-markers="/console/reports/markers.json?status=all"' in page
    assert "vendor/leaflet/leaflet.js" in page


def test_duplicates_are_suggested_and_merged(sim, channel, friends, road, make_staff):
    first = submitted(channel, FIRST, road)
    second = submitted(channel, SECOND, road, lat=35.4038, lng=139.3460)  # about 14 m away
    submitted(channel, SECOND, road, lat=35.4050, lng=139.3459)  # about 140 m away: not a duplicate
    client = signed_in(make_staff("dept_staff", "doro"))
    page = client.get(f"/console/reports/{second.pk}/").content.decode()
    assert f">{first.number}</a>" in page.split('data-testid="duplicates"')[1]
    client.post(f"/console/reports/{second.pk}/merge/", {"other": first.pk})
    second.refresh_from_db()
    assert second.status == Report.Status.MERGED and second.duplicate_of == first
    assert set(Follower.objects.filter(report=first).values_list("resident__line_user_id", flat=True)) == {
        FIRST,
        SECOND,
    }
    run_tasks()
    assert first.number in pushed_texts(sim, SECOND)[-1]
    # From now on the second reporter follows the first report.
    client.post(f"/console/reports/{first.pk}/status/", {"status": "done", "message": "補修しました。"})
    run_tasks()
    assert (
        "補修しました。" in pushed_texts(sim, FIRST)[-1] and "補修しました。" in pushed_texts(sim, SECOND)[-1]
    )


def test_photos_are_for_staff_and_logged(channel, road, make_staff, client):
    report = submitted(channel, FIRST, road)
    photo = report.photos.get()
    url = f"/console/reports/{report.pk}/photos/{photo.pk}"
    assert client.get(url).status_code == 302  # signed out: to the login
    response = signed_in(make_staff("dept_staff", "doro")).get(url + "?size=thumb")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == base64.b64decode(photo.thumbnail)
    assert AuditEntry.objects.filter(action="reports.report.viewed", object_id=str(report.pk)).exists()


def test_export_csv_and_excel_with_a_reason(channel, road, make_staff):
    submitted(channel, FIRST, road, text='=HYPERLINK("http://evil")')
    client = signed_in(make_staff("dept_manager", "doro"))
    response = client.get("/console/reports/export.csv", {"status": "all", "reason": "月次集計"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["受付番号", "受付日時", "カテゴリ"]
    assert rows[1][rows[0].index("内容")].startswith("'=")  # not run as a formula
    entry = AuditEntry.objects.get(action="reports.report.exported")
    assert entry.reason == "月次集計"
    sheet = load_workbook(
        io.BytesIO(client.get("/console/reports/export.xlsx", {"status": "all"}).content)
    ).active
    assert sheet.cell(row=2, column=3).value == "道路"


def test_publishing_needs_a_manager(channel, road, make_staff):
    report = submitted(channel, FIRST, road)
    photo = report.photos.get()
    staff = signed_in(make_staff("dept_staff", "doro"))
    assert staff.post(f"/console/reports/{report.pk}/publish/", {"public": "1"}).status_code == 403
    manager = signed_in(make_staff("dept_manager", "doro"))
    manager.post(
        f"/console/reports/{report.pk}/publish/", {"public": "1", "note": "補修済み", "photos": [photo.pk]}
    )
    report.refresh_from_db()
    photo.refresh_from_db()
    assert report.is_public and report.public_note == "補修済み" and photo.is_public


def test_api_keys_are_shown_once_and_kept_hashed(make_staff):
    client = signed_in(make_staff("admin", None))
    page = client.post("/console/reports/api-keys/", {"name": "道路パトロール委託"}).content.decode()
    key = ApiKey.objects.get()
    raw = page.split('data-testid="new-key">')[1].split("<")[0]
    assert raw.startswith(key.prefix) and raw not in key.key_hash
    assert raw not in client.get("/console/reports/api-keys/").content.decode()
    client.post("/console/reports/api-keys/", {"revoke": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_report_pages_switch_to_english(channel, road, make_staff, settings):
    report = submitted(channel, FIRST, road)
    client = signed_in(make_staff("dept_manager", "doro"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get("/console/reports/").content.decode()
    assert "Defect reports" in listing and "Receipt number" in listing and "Show on the map" in listing
    detail = client.get(f"/console/reports/{report.pk}/").content.decode()
    assert "Change status and notify" in detail and "Possible duplicates" in detail


def test_the_list_costs_the_same_queries_for_more_reports(
    channel, road, make_staff, django_assert_max_num_queries
):
    client = signed_in(make_staff("dept_staff", "doro"))
    for user in (FIRST, SECOND):
        submitted(channel, user, road)
    client.get("/console/reports/")  # warm: session, profile
    with django_assert_max_num_queries(20) as few:
        client.get("/console/reports/")
    for n in range(6):
        submitted(channel, f"U{n:032d}", road)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/console/reports/").status_code == 200


def test_an_internal_note_is_for_staff_only(sim, channel, friends, road, make_staff, client):
    report = submitted(channel, FIRST, road)
    staff = signed_in(make_staff("dept_manager", "doro"))
    note = "現地は私道の可能性あり。土木課に確認中"
    assert staff.post(f"/console/reports/{report.pk}/note/", {"text": note}).status_code == 302
    assert staff.post(f"/console/reports/{report.pk}/note/", {"text": "  "}).status_code == 302  # refused
    assert Update.objects.filter(kind="note").count() == 1
    timeline = staff.get(f"/console/reports/{report.pk}/").content.decode().split('data-testid="timeline"')[1]
    assert note in timeline.split("</ol>")[0]
    entry = AuditEntry.objects.get(action="reports.note.added")
    assert entry.object_id == str(report.pk) and note not in str(entry.data)
    # Published, the report shows its outcome, never the note: not in LINE, not on the public
    # page, not in Open311.
    staff.post(f"/console/reports/{report.pk}/publish/", {"public": "1", "note": "補修しました"})
    run_tasks()
    assert pushed_texts(sim, FIRST) == []
    assert all(note not in m.get("text", "") for m in sim.messages(FIRST))
    public = client.get(f"/reports/{report.number}/").content.decode()
    assert "補修しました" in public and note not in public
    [item] = client.get("/open311/v2/requests.json", {"service_request_id": report.number}).json()
    assert item["status_notes"] == "補修しました" and note not in str(item)


def test_duplicates_are_those_of_the_window_and_the_category(
    channel, road, make_staff, departments, settings
):
    from datetime import timedelta

    from django.utils import timezone

    park = Category.objects.create(code="park", name="公園", department=departments["doro"])
    report = submitted(channel, FIRST, road)
    recent = submitted(channel, SECOND, road, lat=35.4038)
    old = submitted(channel, SECOND, road, lat=35.4038)
    other_kind = submitted(channel, SECOND, park)  # the same spot, another category
    now = timezone.now()
    Report.objects.filter(pk=recent.pk).update(submitted_at=now - timedelta(days=13))
    Report.objects.filter(pk=old.pk).update(submitted_at=now - timedelta(days=15))
    client = signed_in(make_staff("dept_staff", "doro"))

    def listed() -> str:
        page = client.get(f"/console/reports/{report.pk}/").content.decode()
        return page.split('data-testid="duplicate-rule"')[1].split("</ul>")[0]

    shown = listed()
    assert recent.number in shown and old.number not in shown and other_kind.number not in shown
    assert "30m 以内、14 日以内" in shown
    settings.REPORTS_DUPLICATE_DAYS = 20
    settings.REPORTS_DUPLICATE_METERS = 50
    shown = listed()
    assert recent.number in shown and old.number in shown and other_kind.number not in shown
    assert "50m 以内、20 日以内" in shown and "30m" not in shown


def test_the_area_and_date_filters_filter(channel, road, make_staff):
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.reports.models import Area

    north = Area.objects.create(
        code="kita", name="北地区", south=35.45, west=139.20, north=35.50, east=139.50
    )
    Area.objects.create(code="minami", name="南地区", south=35.30, west=139.20, north=35.45, east=139.50)
    south_report = submitted(channel, FIRST, road)  # 35.4037: 南地区
    north_report = submitted(channel, SECOND, road, lat=35.47, lng=139.35)
    old = submitted(channel, SECOND, road, lat=35.48, lng=139.36)
    assert Report.objects.get(pk=north_report.pk).area == north
    Report.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - timedelta(days=40))
    client = signed_in(make_staff("dept_staff", "doro"))

    def numbers(**query: str) -> set[str]:
        page = client.get("/console/reports/", query).content.decode()
        markers = {m["number"] for m in client.get("/console/reports/markers.json", query).json()["markers"]}
        listed = {n for n in (south_report.number, north_report.number, old.number) if n in page}
        assert listed == markers, (listed, markers)
        return listed

    everything = {south_report.number, north_report.number, old.number}
    assert numbers() == everything
    assert numbers(area=str(north.pk)) == {north_report.number, old.number}
    today = timezone.localdate()
    assert numbers(since=(today - timedelta(days=7)).isoformat()) == {
        south_report.number,
        north_report.number,
    }
    assert numbers(until=(today - timedelta(days=30)).isoformat()) == {old.number}
    assert numbers(area=str(north.pk), since=today.isoformat(), until=today.isoformat()) == {
        north_report.number
    }
