"""Alert intake: every CAP and JMA sample, the XXE file refused without reading anything, rules
producing drafts, duplicates ignored, the URL fetch (a local server only), the console list."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.core.models import Channel
from madoguchi.disaster.alerts import AlertRefused, parse_alert
from madoguchi.disaster.intake import alert_ingest
from madoguchi.disaster.models import Alert, AlertDelivery, AlertRule
from madoguchi.messaging.models import Delivery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
CAP = FIXTURES / "cap"
JMA = FIXTURES / "jma"

VALID_CAP = {
    "43b080713727.cap": ("Security", "Homeland Security Advisory System Update", "severe"),
    "thunderstorm.cap": ("Met", "SEVERE THUNDERSTORM", "severe"),
    "canada.cap": ("Met", "thunderstorm", "minor"),
    "canada_errors.cap": ("Met", "thunderstorm", "minor"),  # CAP-CP profile errors, schema-valid
    "australia.cap": ("Fire", "Fire", "minor"),
    "wcatwc-warning.cap": ("Geo", "Tsunami Warning", "extreme"),
    "earthquake.cap": ("Geo", "Earthquake", "unknown"),
    "earthquake-iso8859-1.cap": ("Geo", "Earthquake", "unknown"),
    "weather.cap": ("Met", "Flash Flood Watch", "severe"),
    "no_optional_fields.cap": ("Alert", "Alert", "unknown"),
    "KAR0-0306112239-SW.cap": ("Rescue", "Child Abduction", "severe"),
}
INVALID_CAP = {
    "invalid.cap": "CAP 1.2 のスキーマに合いません(9 行目",
    "noaa_errors.cap": "CAP 1.1 のスキーマに合いません",
    "xee.cap": "DTD や外部実体を含む XML は受け付けません",
}
JMA_SAMPLES = {
    "15_15_01_220314_VPWW54.xml": ("weather_warning", "徳島県気象警報・注意報", "severe", "3620100"),
    "15_08_05_130412_VPWW53.xml": ("weather_warning", "奈良県気象警報・注意報", "extreme", "2920100"),
    "17_01_01_190529_VXWW50.xml": ("landslide", "福岡県土砂災害警戒情報", "severe", "4020400"),
    "16_05_01_210630_VXKOii.xml": ("river_flood", "○○川上流氾濫警戒情報", "severe", "1234567890"),
    "32-35_04_01_100831_VXSE51.xml": ("seismic_intensity", "震度速報", "moderate", "771"),
    "32-39_05_01_100831_VXSE53.xml": ("earthquake", "遠地地震に関する情報", "minor", "946"),
    "38-39_02_04_250206_VTSE41.xml": ("tsunami", "津波予報", "minor", "771"),
}


def test_every_sample_is_accounted_for():
    assert {p.name for p in CAP.glob("*.cap")} == set(VALID_CAP) | set(INVALID_CAP)
    assert {p.name for p in JMA.glob("*.xml")} == set(JMA_SAMPLES)


@pytest.mark.parametrize("name", sorted(VALID_CAP))
def test_valid_cap_samples_are_parsed(name):
    kind, event, severity = VALID_CAP[name]
    alert = parse_alert((CAP / name).read_bytes())
    assert (alert.source, alert.kind, alert.event, alert.severity) == ("cap", kind, event, severity)
    assert alert.identifier and alert.sent.tzinfo is not None


def test_cap_details_multilingual_and_areas():
    canada = parse_alert((CAP / "canada.cap").read_bytes())
    assert canada.headline.startswith("thunderstorm") or canada.headline  # en-CA block first (no ja)
    assert "3537001" in canada.areas
    thunder = parse_alert((CAP / "thunderstorm.cap").read_bytes())
    assert thunder.areas == ["006109", "006009", "006003"]
    assert parse_alert((CAP / "earthquake-iso8859-1.cap").read_bytes()).identifier.startswith(
        "USGS-earthquakes"
    )


@pytest.mark.parametrize("name", sorted(INVALID_CAP))
def test_invalid_cap_samples_are_refused_with_a_reason(name):
    with pytest.raises(AlertRefused) as refused:
        parse_alert((CAP / name).read_bytes())
    assert str(refused.value).startswith(INVALID_CAP[name])


class Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    body = b""

    def do_GET(self) -> None:
        Counting.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-length", str(len(Counting.body)))
        self.end_headers()
        self.wfile.write(Counting.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Counting.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_the_xxe_file_is_refused_without_reading_a_file_or_fetching_a_url(tmp_path, server, db):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7731")
    attack = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY net SYSTEM "{server}/leak">'
        f'<!ENTITY % remote SYSTEM "{server}/dtd"> %remote;]>\n'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;&net;</identifier>'
        "<sender>a@b</sender><sent>2026-01-01T00:00:00+09:00</sent><status>Actual</status>"
        "<msgType>Alert</msgType><scope>Public</scope></alert>"
    ).encode()
    for data in (attack, (CAP / "xee.cap").read_bytes()):
        with pytest.raises(AlertRefused, match="DTD や外部実体") as refused:
            alert_ingest(data)
        assert "TOP-SECRET" not in str(refused.value)
    assert Counting.hits == []  # nothing was fetched
    assert not Alert.objects.exists()
    # An entity without a DOCTYPE (an undefined one) is refused too, and nothing resolves it.
    with pytest.raises(AlertRefused, match="XML として読めません"):
        parse_alert(
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>'
        )


@pytest.mark.parametrize("name", sorted(JMA_SAMPLES))
def test_every_jma_sample_is_parsed_into_its_kind_and_areas(name):
    kind, event, severity, area = JMA_SAMPLES[name]
    alert = parse_alert((JMA / name).read_bytes())
    assert (alert.source, alert.kind, alert.event, alert.severity) == ("jma", kind, event, severity)
    assert area in alert.areas
    assert alert.identifier.startswith(f"jma:{kind}:")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "空のファイル"),
        (b"<html><body>not an alert</body></html>", "CAP 1.2 でも気象庁防災情報XMLでもありません"),
        (b"<alert", "XML として読めません"),
        (b"x" * 2_000_001, "ファイルが大きすぎます"),
    ],
)
def test_other_files_are_refused(data, reason):
    with pytest.raises(AlertRefused, match=reason):
        parse_alert(data)


@pytest.fixture
def rules(db) -> dict[str, AlertRule]:
    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    owner = staff_create(username="bosai-kikaku", password="x" * 16, role=Role.DELIVERY).user
    return {
        "landslide": AlertRule.objects.create(
            name="福岡市中央区の土砂災害",
            channel=channel,
            area_codes="4013300, 4020400",
            kind="landslide",
            min_severity="severe",
            template="evacuate",
            owner=owner,
        ),
        "quake": AlertRule.objects.create(
            name="大隅の震度5弱以上",
            channel=channel,
            area_codes="771",
            kind="seismic_intensity",
            min_severity="severe",
            template="emergency",
            action="emergency",
            owner=owner,
        ),
        "tsunami": AlertRule.objects.create(
            name="津波(重大以上)で緊急安全確保",
            channel=channel,
            kind="Geo",
            min_severity="extreme",
            template="emergency",
            action="emergency",
            owner=owner,
        ),
    }


def test_rules_turn_alerts_into_drafts_and_duplicates_are_ignored(rules):
    data = (JMA / "17_01_01_190529_VXWW50.xml").read_bytes()
    result = alert_ingest(data, origin="test")
    assert result.created and len(result.deliveries) == 1
    draft = result.deliveries[0]
    assert draft.status == Delivery.Status.DRAFT and not draft.is_emergency
    assert draft.target == Delivery.Target.ALL
    text = draft.content["ja"]["messages"][0]["text"]
    assert text.startswith("【警戒レベル4 避難指示】\n福岡県土砂災害警戒情報が発表されました。")
    assert AlertDelivery.objects.get().rule == rules["landslide"]
    again = alert_ingest(data)
    assert not again.created and again.alert == result.alert
    assert Alert.objects.count() == 1 and Delivery.objects.count() == 1


def test_a_weak_or_elsewhere_alert_produces_nothing_and_an_extreme_one_waits_for_approval(rules):
    quake = alert_ingest((JMA / "32-35_04_01_100831_VXSE51.xml").read_bytes())  # 震度4: moderate
    assert quake.created and quake.deliveries == []
    tsunami = alert_ingest((CAP / "wcatwc-warning.cap").read_bytes())
    [emergency] = tsunami.deliveries
    assert emergency.is_emergency and emergency.status == Delivery.Status.PENDING_APPROVAL
    assert emergency.content["ja"]["messages"][0]["text"].startswith("【警戒レベル5 緊急安全確保】")


def test_the_command_ingests_files_and_urls_from_a_local_server(rules, server, capsys):
    Counting.body = (JMA / "17_01_01_190529_VXWW50.xml").read_bytes()
    call_command("alerts", "ingest", f"{server}/feed/1.xml", str(CAP / "thunderstorm.cap"))
    out = capsys.readouterr().out
    assert "stored jma:landslide:" in out and "deliveries 1" in out and "stored KSTO1055887203" in out
    assert Counting.hits == ["/feed/1.xml"]
    call_command("alerts", "ingest", f"{server}/feed/1.xml")
    assert "already stored" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 of 1 refused"):
        call_command("alerts", "ingest", str(CAP / "xee.cap"))
    capsys.readouterr()
    Counting.body = b"<" * 2_000_001
    with pytest.raises(CommandError, match="1 of 1 refused"):
        call_command("alerts", "ingest", f"{server}/big")
    assert "大きすぎます" in capsys.readouterr().err


def test_the_console_lists_alerts_with_what_each_produced(rules, staff_client):
    alert_ingest((JMA / "17_01_01_190529_VXWW50.xml").read_bytes())
    page = staff_client("delivery").get(reverse("console:alerts")).content.decode()
    assert "福岡県土砂災害警戒情報" in page and "【警戒レベル4 避難指示】" in page and "下書き" in page
    assert staff_client("dept_staff").get(reverse("console:alerts")).status_code == 403
