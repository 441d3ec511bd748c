"""Segment conditions: and / or / not over what residents registered; blocked never counted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.core.models import Channel
from madoguchi.messaging.segments import (
    SegmentError,
    conditions_describe,
    conditions_validate,
    segment_residents,
)
from madoguchi.residents.models import Child, Resident
from madoguchi.residents.services import resident_tag_add
from tests.messaging.conftest import make_residents


@pytest.fixture
def town(channel: Channel, places: dict[str, Any]) -> dict[str, Resident]:
    """Five residents with different registrations, and one who blocked the account."""
    kita, minami, bousai, event = places["kita"], places["minami"], places["bousai"], places["event"]
    a, b, c, d, e, blocked = make_residents(channel, 6)
    for resident, district, age, language in (
        (a, kita, "30s", "ja"),
        (b, kita, "70plus", "en-US"),
        (c, minami, "30s", ""),
        (d, minami, "40s", "ja-easy"),
        (e, None, "", "zh-TW"),
        (blocked, kita, "30s", "ja"),
    ):
        resident.district = district
        resident.age_band = age
        resident.language = language
        resident.registered_at = timezone.now() if district else None
        resident.save()
    a.interests.set([bousai])
    b.interests.set([bousai, event])
    c.interests.set([event])
    blocked.interests.set([bousai])
    blocked.status = Resident.Status.BLOCKED
    blocked.save()
    Child.objects.create(resident=c, birthdate=date(2025, 5, 1))
    resident_tag_add(d, "粗大ごみ予約済み")
    Resident.objects.filter(pk=e.pk).update(followed_at=timezone.now() - timedelta(days=400))
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "blocked": blocked}


def names(channel: Channel, town: dict[str, Resident], tree: Any, **kwargs: Any) -> set[str]:
    ids = set(segment_residents(channel, tree, **kwargs).values_list("pk", flat=True))
    return {name for name, resident in town.items() if resident.pk in ids}


def test_everyone_is_every_friend_but_never_the_blocked(channel: Channel, town: dict[str, Resident]) -> None:
    assert names(channel, town, {}) == {"a", "b", "c", "d", "e"}
    assert names(channel, town, {"field": "district", "in": ["kita"]}) == {"a", "b"}


def test_and_or_not(channel: Channel, town: dict[str, Resident]) -> None:
    kita_30s = {"all": [{"field": "district", "in": ["kita"]}, {"field": "age_band", "in": ["30s"]}]}
    assert names(channel, town, kita_30s) == {"a"}
    either = {"any": [{"field": "interest", "in": ["event"]}, {"field": "tag", "in": ["粗大ごみ予約済み"]}]}
    assert names(channel, town, either) == {"b", "c", "d"}
    not_bousai = {"not": {"field": "interest", "in": ["bousai"]}}
    assert names(channel, town, not_bousai) == {"c", "d", "e"}
    nested = {
        "all": [
            {"any": [{"field": "district", "in": ["minami"]}, {"field": "language", "in": ["en"]}]},
            {"not": {"field": "has_children", "is": True}},
        ]
    }
    assert names(channel, town, nested) == {"b", "d"}
    assert names(channel, town, {"any": []}) == set()


def test_language_registration_and_friend_since(channel: Channel, town: dict[str, Resident]) -> None:
    # Residents who never chose a language read Japanese; やさしい日本語 is its own choice.
    assert names(channel, town, {"field": "language", "in": ["ja"]}) == {"a", "c"}
    assert names(channel, town, {"field": "language", "in": ["ja-easy", "zh"]}) == {"d", "e"}
    assert names(channel, town, {"field": "registered", "is": False}) == {"e"}
    year_ago = (timezone.localdate() - timedelta(days=365)).isoformat()
    assert names(channel, town, {"field": "friend_since", "before": year_ago}) == {"e"}
    assert names(channel, town, {"field": "friend_since", "after": year_ago}) == {"a", "b", "c", "d"}


def test_topic_and_emergency(channel: Channel, town: dict[str, Resident]) -> None:
    bousai_kita = {"all": [{"field": "district", "in": ["kita"]}, {"field": "interest", "in": ["bousai"]}]}
    assert names(channel, town, {}, topic_code="event") == {"b", "c"}
    # An emergency ignores topics and interests, never blocks.
    assert names(channel, town, {}, topic_code="event", emergency=True) == {"a", "b", "c", "d", "e"}
    assert names(channel, town, bousai_kita, emergency=True) == {"a", "b"}


@pytest.mark.parametrize(
    "tree",
    [
        [],
        "'; DROP TABLE residents; --",
        {"field": "district"},
        {"field": "district", "in": []},
        {"field": "district", "in": [1, 2]},
        {"field": "password", "in": ["x"]},
        {"field": "registered", "is": "yes"},
        {"field": "friend_since", "after": "昨日"},
        {"all": {"field": "district", "in": ["kita"]}},
        {"all": [], "any": []},
        {"not": [{"field": "district", "in": ["kita"]}]},
        {"field": "district", "in": ["x" * 101]},
        {"field": "district", "in": ["k"] * 201},
    ],
)
def test_hostile_conditions_are_refused_in_japanese(tree: Any) -> None:
    with pytest.raises(SegmentError) as refused:
        conditions_validate(tree)
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))


def test_too_deep_or_too_many(transactional_db: None) -> None:
    deep: dict[str, Any] = {"field": "district", "in": ["kita"]}
    for _ in range(10):
        deep = {"not": deep}
    with pytest.raises(SegmentError):
        conditions_validate(deep)
    with pytest.raises(SegmentError):
        conditions_validate({"any": [{"field": "district", "in": ["kita"]}] * 150})


def test_description_reads_in_japanese() -> None:
    tree = {"all": [{"field": "district", "in": ["kita"]}, {"not": {"field": "interest", "in": ["event"]}}]}
    assert conditions_describe(tree) == "(地区: kita かつ 「関心分野: event」でない)"
    assert conditions_describe({}) == "友だち全員"


EVENT = {"field": "interest", "in": ["event"]}
BOUSAI = {"field": "interest", "in": ["bousai"]}
KITA = {"field": "district", "in": ["kita"]}
MINAMI = {"field": "district", "in": ["minami"]}
EVERYONE = {"a", "b", "c", "d", "e"}


@pytest.mark.parametrize(
    ("tree", "normal", "emergency"),
    [
        # empty all = everyone, empty any = nobody, and their negations
        ({"all": []}, EVERYONE, EVERYONE),
        ({"any": []}, set(), set()),
        ({"not": {"all": []}}, set(), set()),
        ({"not": {"any": []}}, EVERYONE, EVERYONE),
        ({"any": [{"all": []}, KITA]}, EVERYONE, EVERYONE),
        ({"all": [{"any": []}, KITA]}, set(), set()),
        ({"any": [{"any": []}, KITA]}, {"a", "b"}, {"a", "b"}),
        ({"all": [{"all": []}, KITA]}, {"a", "b"}, {"a", "b"}),
        ({"not": {"not": {"any": []}}}, set(), set()),
        # an interest counts as everyone in an emergency, wherever it stands
        (EVENT, {"b", "c"}, EVERYONE),
        ({"any": [EVENT]}, {"b", "c"}, EVERYONE),
        ({"all": [EVENT]}, {"b", "c"}, EVERYONE),
        ({"any": [EVENT, KITA]}, {"a", "b", "c"}, EVERYONE),
        ({"all": [EVENT, KITA]}, {"b"}, {"a", "b"}),
        ({"any": [{"all": [EVENT, KITA]}, MINAMI]}, {"b", "c", "d"}, {"a", "b", "c", "d"}),
        ({"all": [{"any": [EVENT, BOUSAI]}, MINAMI]}, {"c"}, {"c", "d"}),
        # …and its "not" never narrows an emergency either
        ({"not": BOUSAI}, {"c", "d", "e"}, EVERYONE),
        ({"all": [{"not": BOUSAI}, KITA]}, set(), {"a", "b"}),
        ({"any": [{"not": BOUSAI}, KITA]}, EVERYONE, EVERYONE),
        ({"not": {"any": [EVENT, MINAMI]}}, {"a", "e"}, {"a", "b", "e"}),
        ({"not": {"all": [BOUSAI, KITA]}}, {"c", "d", "e"}, EVERYONE),
        ({"not": {"not": EVENT}}, {"b", "c"}, EVERYONE),
        # other fields under "not" and "any"
        ({"not": KITA}, {"c", "d", "e"}, {"c", "d", "e"}),
        (
            {"any": [{"field": "tag", "in": ["粗大ごみ予約済み"]}, {"field": "has_children", "is": True}]},
            {"c", "d"},
            {"c", "d"},
        ),
    ],
)
def test_every_combination_of_and_or_not_normal_and_emergency(
    channel: Channel, town: dict[str, Resident], tree: Any, normal: set[str], emergency: set[str]
) -> None:
    assert names(channel, town, conditions_validate(tree)) == normal
    assert names(channel, town, conditions_validate(tree), emergency=True) == emergency
