"""Staff of every role, signed in as the console signs them in (second factor passed)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from madoguchi.accounts.models import Department, StaffProfile
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.console.access import SESSION_LOGIN_AT, SESSION_MFA
from madoguchi.core.models import Channel
from madoguchi.inbox.models import Attachment, Conversation, Message
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import Delivery, DeliveryRun, Segment, Step, StepSequence
from madoguchi.residents.models import Resident
from madoguchi.scenarios.models import Scenario
from madoguchi.scenarios.services import scenario_import

PASSWORD = "kakunin-Pass-2026!"


@pytest.fixture
def departments(db: None) -> dict[str, Department]:
    return {
        "gomi": Department.objects.create(code="gomi", name="ごみ減量課"),
        "doro": Department.objects.create(code="doro", name="道路維持課"),
    }


@pytest.fixture
def make_staff(departments: dict[str, Department]) -> Callable[..., StaffProfile]:
    def make(role: str, department: str | None = "gomi", username: str | None = None) -> StaffProfile:
        return staff_create(
            username=username or f"{role}-{department or 'all'}",
            password=PASSWORD,
            role=role,
            department=departments.get(department or ""),
        )

    return make


def signed_in(profile: StaffProfile) -> Client:
    """A client signed in as the console does it: after the password and, if needed, the code."""
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="192.0.2.10")
    client.force_login(profile.user)
    session = client.session
    session[SESSION_LOGIN_AT] = time.time()
    session[SESSION_MFA] = True
    session.save()
    return client


@pytest.fixture
def staff_client(make_staff: Callable[..., StaffProfile]) -> Callable[..., Client]:
    def make(role: str, department: str | None = "gomi") -> Client:
        return signed_in(make_staff(role, department))

    return make


@pytest.fixture
def resident(db: None) -> Resident:
    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    return Resident.objects.create(channel=channel, line_user_id="U" + "1" * 32, display_name="山田 花子")


@pytest.fixture
def conversations(resident: Resident) -> dict[str, Any]:
    """An inquiry (main channel) and a counseling conversation (confidential channel), each with
    a resident's photo: "I"/"IM" and "K"/"KM" in the permission table."""
    counseling_channel = Channel.objects.create(
        slug="soudan", name="こころの相談", provider_channel_id="2", channel_secret="s", is_confidential=True
    )
    confiding = Resident.objects.create(
        channel=counseling_channel, line_user_id="U" + "2" * 32, display_name="相談者A"
    )
    made: dict[str, Any] = {}
    for key, who, counseling in (("I", resident, False), ("K", confiding, True)):
        conversation = Conversation.objects.create(
            channel=who.channel, resident=who, origin="resident", is_counseling=counseling
        )
        message = Message.objects.create(
            conversation=conversation, direction="in", kind="image", body=f"{key} の写真"
        )
        Attachment.objects.create(
            message=message, content_type="image/png", size=3, data=base64.b64encode(b"png").decode()
        )
        made[key], made[f"{key}M"] = conversation, message
    return made


@pytest.fixture
def scenario(db: None) -> Scenario:
    """A city-wide scenario with one published version."""
    source = "slug: demo\ntitle: デモ\nsteps:\n  - {id: a, kind: end, text: おわり}\n"
    return scenario_import(source.encode(), publish=True).scenario


@pytest.fixture
def messaging_objects(resident: Resident, make_staff: Callable[..., StaffProfile]) -> dict[str, Any]:
    """A segment, a delivery already sent (run 1) and a step sequence with one step:
    "SG", "DL", "SQ" and "ST" in the permission table."""
    author = make_staff("delivery", "gomi", username="kouhou-author").user
    segment = Segment.objects.create(
        name="北地区", conditions={"all": [{"field": "district", "in": ["kita"]}]}, created_by=author
    )
    delivery = Delivery.objects.create(
        channel=resident.channel,
        title="お知らせ",
        segment=segment,
        content=content_from_text("こんにちは"),
        status=Delivery.Status.DONE,
        created_by=author,
    )
    DeliveryRun.objects.create(delivery=delivery, number=1, status=DeliveryRun.Status.DONE)
    sequence = StepSequence.objects.create(
        channel=resident.channel, name="子育て", trigger=StepSequence.Trigger.FOLLOW, created_by=author
    )
    step = Step.objects.create(sequence=sequence, days=1, content=content_from_text("ようこそ"))
    return {"SG": segment, "DL": delivery, "SQ": sequence, "ST": step}


@pytest.fixture
def report(resident: Resident) -> Any:
    """A submitted defect report with a photo ("RP"/"RPP" in the permission table)."""
    from madoguchi.reports.models import Category, Photo, Report

    category = Category.objects.create(code="road", name="道路")
    made = Report.objects.create(
        channel=resident.channel,
        resident=resident,
        category=category,
        status=Report.Status.RECEIVED,
        number="2026-00001",
        submitted_at=resident.created_at,
        latitude=35.4037,
        longitude=139.3459,
        description="穴",
    )
    jpeg = base64.b64encode(b"\xff\xd8\xff").decode()
    photo = Photo.objects.create(report=made, content_type="image/jpeg", data=jpeg, thumbnail=jpeg)
    return {"RP": made, "RPP": photo}


ALL_ROLES = [role.value for role in Role]


@pytest.fixture
def rich_menu(db: None) -> Any:
    """The demo city's default (welcome) menu: "RM" in the permission table."""
    from madoguchi.demo.richmenus import DATA, demo_menus
    from madoguchi.richmenus.services import menu_save

    spec = next(s for s in demo_menus() if s["slug"] == "welcome")
    return menu_save(None, image=(DATA / "richmenu-welcome.png").read_bytes(), is_disaster=False, **spec)


@pytest.fixture
def garbage_objects(db: None) -> Any:
    """A garbage category, item, collection area and centre ("GC"/"GI"/"GA"/"GK" in the permission
    table)."""
    from madoguchi.garbage.models import Area, AreaRule, Category, Center, Item

    category = Category.objects.create(name="燃やすごみ")
    item = Item.objects.create(name="紙くず", category=category, key="k1")
    center = Center.objects.create(name="東部管理センター")
    area = Area.objects.create(name="北", slug="kita-area", center=center)
    AreaRule.objects.create(area=area, category=category, rule="月 木")
    return {"GC": category, "GI": item, "GA": area, "GK": center}


@pytest.fixture
def bulky(resident: Resident) -> Any:
    """A 粗大ごみ item, collection day and booking ("BI"/"BD"/"BK" in the permission table)."""
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.bulky.models import Booking, CollectionDay, Item
    from madoguchi.residents.models import District

    item = Item.objects.create(name="いす", fee=400)
    district = District.objects.create(code="bulky-kita", name="北地区")
    day = CollectionDay.objects.create(
        district=district, date=timezone.localdate() + timedelta(days=10), capacity=5, booked=1
    )
    booking = Booking.objects.create(
        resident=resident,
        day=day,
        number="S-2026-000001",
        name="花子",
        address="北町1",
        phone="0451234567",
        fee_total=400,
    )
    return {"BI": item, "BD": day, "BK": booking}


@pytest.fixture
def alert_feed(db: None) -> Any:
    from madoguchi.disaster.models import AlertFeed

    return AlertFeed.objects.create(
        name="気象庁 高頻度(随時)", url="https://www.data.jma.go.jp/developer/xml/feed/extra.xml"
    )
