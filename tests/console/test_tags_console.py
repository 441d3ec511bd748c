"""Tags in the console: staff add and remove them on a resident's page (permission, audit), the
list counts them, and the resident's page shows what they registered."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from madoguchi.core.models import AuditEntry, Channel
from madoguchi.residents.models import District, Interest, Resident, Tag
from madoguchi.residents.services import resident_register, resident_tag_add


def test_staff_tag_a_resident_and_take_it_off_again(staff_client, resident):
    client = staff_client("dept_staff")
    page = reverse("console:resident", args=[resident.pk])
    answer = client.post(
        reverse("console:resident_tag_add", args=[resident.pk]), {"name": "  見守り   対象 "}
    )
    assert answer.status_code == 302 and answer["Location"] == page
    tag = Tag.objects.get()
    assert tag.name == "見守り 対象" and tag.source == Tag.Source.STAFF
    assert list(resident.tags.all()) == [tag]
    entry = AuditEntry.objects.get(action="residents.resident.tagged")
    assert entry.actor_label == "dept_staff-gomi" and entry.data == {"tag": "見守り 対象"}
    assert "見守り 対象" in client.get(page).content.decode()

    client.post(reverse("console:resident_tag_remove", args=[resident.pk, tag.pk]))
    assert not resident.tags.exists()
    assert AuditEntry.objects.filter(action="residents.resident.untagged").count() == 1


def test_an_empty_or_overlong_tag_is_refused(staff_client, resident):
    client = staff_client("dept_manager")
    for name in ["", "   ", "あ" * 101]:
        answer = client.post(
            reverse("console:resident_tag_add", args=[resident.pk]), {"name": name}, follow=True
        )
        assert "タグは 1〜100 文字で入力してください" in answer.content.decode()
    assert not Tag.objects.exists()


def test_roles_without_the_permission_cannot_tag_and_the_page_offers_nothing(staff_client, resident):
    counselor = staff_client("counselor")
    page = counselor.get(reverse("console:resident", args=[resident.pk])).content.decode()
    assert "タグを付ける" not in page
    answer = counselor.post(reverse("console:resident_tag_add", args=[resident.pk]), {"name": "x"})
    assert answer.status_code == 403
    tag = resident_tag_add(resident, "子育て世帯")
    answer = counselor.post(reverse("console:resident_tag_remove", args=[resident.pk, tag.pk]))
    assert answer.status_code == 403 and resident.tags.exists()


def test_a_counseling_residents_tags_are_out_of_reach(staff_client, resident):
    hidden_channel = Channel.objects.create(
        slug="soudan", name="相談", provider_channel_id="2", channel_secret="s", is_confidential=True
    )
    confiding = Resident.objects.create(channel=hidden_channel, line_user_id="U" + "2" * 32)
    resident_tag_add(confiding, "見守り")
    resident_tag_add(resident, "見守り")
    client = staff_client("dept_manager")
    answer = client.post(reverse("console:resident_tag_add", args=[confiding.pk]), {"name": "x"})
    assert answer.status_code == 404
    # The list counts only residents this person may see.
    page = client.get(reverse("console:tags")).content.decode()
    assert 'data-testid="tag-count">1<' in page


def test_the_tag_list_counts_and_leads_to_the_residents(staff_client, resident):
    other = Resident.objects.create(
        channel=resident.channel, line_user_id="U" + "3" * 32, display_name="鈴木"
    )
    for someone in (resident, other):
        resident_tag_add(someone, "子育て世帯")
    resident_tag_add(other, "見守り")
    client = staff_client("dept_staff")
    page = client.get(reverse("console:tags")).content.decode()
    assert page.index("子育て世帯") < page.index("見守り")
    assert page.count('data-testid="tag-count">2<') == 1 and page.count('data-testid="tag-count">1<') == 1
    watched = Tag.objects.get(name="見守り")
    listed = client.get(reverse("console:residents"), {"tag": watched.pk}).content.decode()
    assert "鈴木" in listed and "山田 花子" not in listed and "タグ「見守り」の住民" in listed
    assert AuditEntry.objects.filter(action="residents.resident.listed", data__tag="見守り").exists()


def test_the_residents_page_shows_the_registration(staff_client, resident):
    district = District.objects.create(code="kita", name="北地区")
    interest = Interest.objects.create(code="bousai", name="防災")
    resident_register(
        resident,
        terms_version="2026-04",
        audience="resident",
        district=district,
        age_band="70plus",
        interests=[interest],
        children=[date(2020, 4, 1)],
    )
    page = staff_client("dept_staff").get(reverse("console:resident", args=[resident.pk])).content.decode()
    for shown in ("市民", "北地区", "70歳以上", "防災", "2020-04-01", "2026-04", "子育て世帯"):
        assert shown in page, shown


def test_the_export_holds_the_registration(staff_client, resident):
    resident_register(resident, terms_version="2026-04", age_band="30s", children=[date(2021, 1, 2)])
    data = (
        staff_client("dept_manager")
        .get(reverse("console:resident_export", args=[resident.pk, "json"]))
        .json()
    )
    assert data["resident"]["age_band"] == "30s"
    assert data["resident"]["children_birthdates"] == "2021-01-02"
    assert data["resident"]["tags"] == "子育て世帯"
