"""Our Open311 GeoReport v2 API, driven by a third-party client (`georeport` from PyPI) over
HTTP against the live server, in JSON and XML; POSTs made as the spec describes them."""

from __future__ import annotations

import httpx
import pytest
import requests
import xmltodict
from georeport import GeoReport

from madoguchi.core.models import AuditEntry
from madoguchi.reports.models import Report
from madoguchi.reports.photos import photo_clean
from madoguchi.reports.services import apikey_create, draft_start, photo_keep, report_publish, report_submit
from madoguchi.residents.models import Resident
from tests.reports.conftest import HERE, OSAKA, jpeg

JURISDICTION = "midori.example.jp"


@pytest.fixture
def api(live_server, categories):
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def key(categories, django_user_model):
    return apikey_create(name="道路パトロール委託", actor=None)[1]


@pytest.fixture
def published(categories):
    """Two LINE reports: one published with a photo and its outcome, one not."""
    from madoguchi.core.models import Channel

    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    made = []
    for user, text in (("U" + "1" * 32, "歩道の穴 (公開)"), ("U" + "2" * 32, "自宅前の街灯が消えている")):
        resident = Resident.objects.create(channel=channel, line_user_id=user, display_name="山田")
        report = draft_start(resident, categories["road"])
        Report.objects.filter(pk=report.pk).update(
            latitude=HERE[0] + len(made) * 0.01234, longitude=HERE[1], description=text, address="中央1丁目"
        )
        photo_keep(report, photo_clean(jpeg()))
        made.append(report_submit(report))
    report_publish(made[0], actor=None, public=True, note="補修しました", photo_ids=[made[0].photos.get().pk])
    return made


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_and_their_definitions(api, fmt):
    client = GeoReport(api, jurisdiction=JURISDICTION, output_format=fmt)
    services = client.get_service_list()
    by_code = {service["service_code"]: service for service in services}
    assert set(by_code) == {"road", "park"}  # 危険・緊急 is a phone call, not an online service
    assert by_code["road"]["service_name"] == "道路"
    assert by_code["road"]["group"] == "道路維持課"
    assert str(by_code["park"]["metadata"]).lower() == "false"
    definition = client.get_service_definition("road")
    assert definition["service_code"] == "road"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_requests_show_only_what_staff_published(api, published, fmt):
    client = GeoReport(api, output_format=fmt)  # no jurisdiction_id: accepted
    listed = client.get_service_requests(service_code="road")
    by_id = {item["service_request_id"]: item for item in listed}
    public, private = published
    assert set(by_id) == {public.number, private.number}
    shown = by_id[public.number]
    assert shown["description"] == "歩道の穴 (公開)" and shown["status_notes"] == "補修しました"
    assert shown["status"] == "open" and shown["media_url"].endswith(".jpg")
    assert float(shown["lat"]) == pytest.approx(public.latitude)
    hidden = by_id[private.number]
    assert not hidden["description"] and not hidden["address"]  # not published: no words, no address
    assert float(hidden["lat"]) == round(private.latitude, 3)  # and only a rough place
    one = client.get_service_request(public.number)
    assert one["service_request_id"] == public.number and one["agency_responsible"] == "道路維持課"
    if fmt == "json":  # (the client cannot read an empty XML list: xmltodict makes it None)
        assert client.get_service_requests(status="closed") == []


def test_request_filters(api, published):
    client = GeoReport(api)
    public, private = published
    Report.objects.filter(pk=private.pk).update(status=Report.Status.DONE)
    assert [r["service_request_id"] for r in client.get_service_requests(status="closed")] == [private.number]
    assert [r["service_request_id"] for r in client.get_service_requests(status="open")] == [public.number]
    assert client.get_service_requests(service_code="park") == []
    assert (
        client.get_service_requests(start_date="2001-01-01T00:00:00Z", end_date="2001-02-01T00:00:00Z") == []
    )
    ids = client.get_service_requests(service_request_id=f"{public.number},{private.number}", status="open")
    assert len(ids) == 2  # service_request_id overrides the other filters
    # Published photos are public, at an absolute URL a client can fetch as it is.
    media = client.get_service_request(public.number)["media_url"]
    root = api.rsplit("/open311", 1)[0]
    assert media == f"{root}/reports/photos/{public.photos.get().pk}.jpg"
    assert requests.get(media, timeout=10).headers["Content-Type"] == "image/jpeg"
    assert client.get_service_request(private.number)["media_url"] in ("", None)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_with_the_public_page_off_published_photos_are_not_public(api, published, settings, fmt):
    public, _private = published
    photo = public.photos.get()
    url = f"{api.rsplit('/open311', 1)[0]}/reports/photos/{photo.pk}.jpg"
    assert httpx.get(url).status_code == 200
    settings.REPORTS_PUBLIC_PAGE = False
    assert httpx.get(url).status_code == 404
    assert httpx.get(url, params={"size": "thumb"}).status_code == 404
    shown = GeoReport(api, output_format=fmt).get_service_request(public.number)
    # The outcome is still published through the API; the photo it cannot point to is left out.
    assert shown["status_notes"] == "補修しました" and not shown.get("media_url")


def test_post_a_request_as_the_spec_says(api, key):
    response = httpx.post(
        f"{api}/requests.json",
        data={
            "jurisdiction_id": JURISDICTION,
            "api_key": key,
            "service_code": "road",
            "lat": str(HERE[0]),
            "long": str(HERE[1]),
            "address_string": "みどり市中央1丁目",
            "description": "ガードレールが曲がっています",
            "email": "taro@example.jp",
            "first_name": "太郎",
            "media_url": "https://example.jp/photo.jpg",
        },
    )
    assert response.status_code == 201, response.text
    [created] = response.json()
    report = Report.objects.get(number=created["service_request_id"])
    assert report.source == "open311" and report.status == Report.Status.RECEIVED
    assert report.department.name == "道路維持課"
    assert "taro@example.jp" in report.reporter_contact
    assert AuditEntry.objects.filter(action="reports.report.submitted", object_id=str(report.pk)).exists()
    # The same request read back with the third-party client, in XML.
    assert GeoReport(api, output_format="xml").get_service_request(report.number)["service_code"] == "road"
    # XML POST answers in XML.
    xml = httpx.post(
        f"{api}/requests.xml",
        data={
            "api_key": key,
            "service_code": "park",
            "address_string": "中央公園の南口",
            "description": "遊具が壊れている",
        },
    )
    assert xml.status_code == 201
    assert xmltodict.parse(xml.content)["service_requests"]["request"]["service_request_id"].startswith("20")


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({"service_code": "road", "lat": "35.4", "long": "139.3"}, 403, "api_key"),
        ({"api_key": "mdg_wrong", "service_code": "road", "lat": "35.4", "long": "139.3"}, 403, "api_key"),
        ({"api_key": "KEY", "service_code": "nope", "lat": "35.4", "long": "139.3"}, 400, "service_code"),
        ({"api_key": "KEY", "service_code": "road"}, 400, "location"),
        (
            {"api_key": "KEY", "service_code": "road", "lat": str(OSAKA[0]), "long": str(OSAKA[1])},
            400,
            "outside",
        ),
        ({"api_key": "KEY", "service_code": "road", "lat": "north", "long": "139.3"}, 400, "numbers"),
        (
            {"api_key": "KEY", "service_code": "road", "address_string": "x", "description": "穴" * 10_000},
            400,
            "description",
        ),
        ({"api_key": "KEY", "service_code": "danger", "address_string": "x"}, 400, "0120-000-110"),
        (
            {
                "api_key": "KEY",
                "service_code": "road",
                "address_string": "x",
                "media_url": "file:///etc/passwd",
            },
            400,
            "media_url",
        ),
        (
            {"api_key": "KEY", "service_code": "road", "address_string": "x", "jurisdiction_id": "osaka.jp"},
            404,
            "jurisdiction",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posts_that_are_refused_answer_in_the_spec_error_format(api, key, data, status, words, fmt):
    data = {name: key if value == "KEY" else value for name, value in data.items()}
    response = httpx.post(f"{api}/requests.{fmt}", data=data)
    assert response.status_code == status
    if fmt == "json":
        [problem] = response.json()
        assert problem["code"] == status and words in problem["description"]
    else:
        problem = xmltodict.parse(response.content)["errors"]["error"]
        assert problem["code"] == str(status) and words in problem["description"]
    assert not Report.objects.exists()


def test_wrong_jurisdiction_and_unknown_ids_are_404(api, published):
    assert httpx.get(f"{api}/services.json", params={"jurisdiction_id": "osaka.jp"}).status_code == 404
    missing = httpx.get(f"{api}/requests/1999-99999.xml")
    assert missing.status_code == 404 and "errors" in xmltodict.parse(missing.content)
    assert httpx.get(f"{api}/services/nope.json").json()[0]["code"] == 404
    assert httpx.get(f"{api}/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert httpx.get(f"{api}/requests.yaml").status_code == 404
    discovery = httpx.get(f"{api}/discovery.json").json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"


def test_the_request_list_costs_the_same_queries_for_more_reports(
    api, published, django_assert_max_num_queries
):
    from django.test import Client

    client = Client()
    with django_assert_max_num_queries(10) as few:
        client.get("/open311/v2/requests.json")
    resident = Resident.objects.first()
    for _ in range(5):
        report = draft_start(resident, published[0].category)
        Report.objects.filter(pk=report.pk).update(latitude=HERE[0], longitude=HERE[1])
        photo_keep(report, photo_clean(jpeg()))
        report_publish(report_submit(report), actor=None, public=True, photo_ids=[report.photos.get().pk])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/open311/v2/requests.json").json()) == 7
