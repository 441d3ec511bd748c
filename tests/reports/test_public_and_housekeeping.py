"""The public page shows only what staff published; drafts, photos and erased residents' words
go when they should."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.core.models import Channel
from madoguchi.core.retention import retention_purge
from madoguchi.core.scheduling import PERIODIC_JOBS
from madoguchi.reports.models import Follower, Photo, Report
from madoguchi.reports.photos import PhotoRefused, photo_clean
from madoguchi.reports.services import (
    draft_start,
    drafts_purge,
    photo_keep,
    report_change_status,
    report_publish,
    report_submit,
)
from madoguchi.residents.models import Resident
from madoguchi.residents.services import ERASURE_HOOKS
from tests.reports.conftest import HERE, jpeg


@pytest.fixture
def resident(db):
    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    return Resident.objects.create(channel=channel, line_user_id="U" + "3" * 32, display_name="佐藤 一郎")


def _report(resident, category, text="公園のベンチが壊れている") -> Report:
    report = draft_start(resident, category)
    Report.objects.filter(pk=report.pk).update(latitude=HERE[0], longitude=HERE[1], description=text)
    photo_keep(report, photo_clean(jpeg()))
    photo_keep(report, photo_clean(jpeg(colour=(1, 2, 3))))
    return report_submit(report)


def test_the_public_page_shows_published_reports_and_chosen_photos_only(client, resident, categories):
    shown, hidden = _report(resident, categories["park"]), _report(resident, categories["park"], "内緒")
    first, second = shown.photos.all()
    report_publish(shown, actor=None, public=True, note="修理しました", photo_ids=[first.pk])
    page = client.get("/reports/").content.decode()
    assert shown.number in page and "修理しました" in page and hidden.number not in page
    assert "佐藤" not in page
    detail = client.get(f"/reports/{shown.number}/").content.decode()
    assert f"/reports/photos/{first.pk}.jpg" in detail and f"/reports/photos/{second.pk}.jpg" not in detail
    assert client.get(f"/reports/photos/{first.pk}.jpg").status_code == 200
    assert client.get(f"/reports/photos/{second.pk}.jpg").status_code == 404
    assert client.get(f"/reports/{hidden.number}/").status_code == 404
    markers = client.get("/reports/markers.json").json()["markers"]
    assert [m["number"] for m in markers] == [shown.number]


def test_the_public_page_can_be_switched_off(client, settings, resident, categories):
    shown = _report(resident, categories["park"])
    photo = shown.photos.first()
    report_publish(shown, actor=None, public=True, note="修理しました", photo_ids=[photo.pk])
    assert client.get(f"/reports/photos/{photo.pk}.jpg").status_code == 200
    settings.REPORTS_PUBLIC_PAGE = False
    assert client.get("/reports/").status_code == 404
    assert client.get(f"/reports/{shown.number}/").status_code == 404
    assert client.get("/reports/markers.json").status_code == 404
    # Its photos were part of it: not public either.
    assert client.get(f"/reports/photos/{photo.pk}.jpg").status_code == 404
    assert client.get(f"/reports/photos/{photo.pk}.jpg?size=thumb").status_code == 404


def test_a_thirty_megabyte_file_is_refused_before_it_is_decoded():
    with pytest.raises(PhotoRefused, match="大きすぎます"):
        photo_clean(b"\xff\xd8\xff" + b"\x00" * 30_000_000)


@pytest.mark.parametrize("content", [b"GIF89a" + b"\x00" * 10, b"<svg onload=alert(1)>", b"%PDF-1.7\n"])
def test_files_that_are_not_photos_are_refused(content):
    with pytest.raises(PhotoRefused):
        photo_clean(content)


def test_abandoned_drafts_are_purged_by_a_periodic_job(resident, categories):
    kept = _report(resident, categories["road"])
    draft = draft_start(resident, categories["road"])
    photo_keep(draft, photo_clean(jpeg()))
    Report.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert "madoguchi.reports.services.drafts_purge" in {job.function for job in PERIODIC_JOBS}
    assert drafts_purge() == 1
    assert list(Report.objects.all()) == [kept] and Photo.objects.filter(report=kept).count() == 2


def test_photos_of_long_closed_reports_are_purged_except_published_ones(settings, resident, categories):
    old, published = _report(resident, categories["road"]), _report(resident, categories["road"])
    for report in (old, published):
        report_change_status(report, actor=None, status="done")
    report_publish(published, actor=None, public=True, photo_ids=[published.photos.first().pk])
    Report.objects.update(closed_at=timezone.now() - timedelta(days=settings.RETAIN_REPORT_PHOTOS_DAYS + 1))
    removed = retention_purge()
    assert removed["photos of defect reports (after they closed)"] == 3
    assert not old.photos.exists() and published.photos.count() == 1


def test_erasure_removes_the_residents_words_and_unpublished_photos(resident, categories):
    report = _report(resident, categories["road"])
    assert "madoguchi.reports.services.reports_erase" in ERASURE_HOOKS
    from madoguchi.reports.services import reports_erase

    reports_erase(resident.channel_id, resident.line_user_id, "anon-x")
    report.refresh_from_db()
    assert report.description == "" and not report.photos.exists()
    assert not Follower.objects.exists()
    assert report.status == Report.Status.RECEIVED and report.latitude == HERE[0]
