"""Staff write, publish, roll back, import, export and preview scenarios in the console."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.chatbot.models import FlowState
from madoguchi.core.models import AuditEntry
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.services import preview_user_id, scenario_import
from tests.conftest import run_tasks
from tests.console.conftest import signed_in
from tests.scenarios.conftest import DATA

SOURCE = """slug: gomi-guide
title: ごみの案内
triggers: [ごみ案内]
steps:
  - id: start
    kind: message
    text: どちらですか。
    choices:
      - {label: 粗大ごみ, next: bye}
  - {id: bye, kind: end, text: ありがとうございました。}
"""


def test_write_a_draft_publish_it_and_roll_back(staff_client, db):
    client = staff_client("dept_manager")
    page = client.get(reverse("console:scenario_new_yaml")).content.decode()
    assert "slug: new-scenario" in page  # a starter to edit
    response = client.post(reverse("console:scenario_new_yaml"), {"source": SOURCE})
    scenario = Scenario.objects.get(slug="gomi-guide")
    assert response["Location"] == reverse("console:scenario", kwargs={"scenario_id": scenario.pk})
    assert scenario.department.code == "gomi"  # the author's department
    detail = client.get(response["Location"]).content.decode()
    assert "第 1 版 (下書き) を公開" in detail and "どちらですか。" in detail  # the step list
    client.post(reverse("console:scenario_publish", kwargs={"scenario_id": scenario.pk}))
    edited = SOURCE.replace("どちらですか。", "どれを出しますか。")
    client.post(
        reverse("console:scenario_edit_yaml", kwargs={"scenario_id": scenario.pk}), {"source": edited}
    )
    client.post(reverse("console:scenario_publish", kwargs={"scenario_id": scenario.pk}))
    assert scenario.published.number == 2
    client.post(reverse("console:scenario_rollback", kwargs={"scenario_id": scenario.pk, "number": 1}))
    published = Scenario.objects.get(pk=scenario.pk).published
    assert published.number == 3 and "どちらですか。" in published.source
    history = client.get(reverse("console:scenario", kwargs={"scenario_id": scenario.pk})).content.decode()
    assert "v1 に戻す" in history
    export = client.get(
        reverse("console:scenario_export", kwargs={"scenario_id": scenario.pk}) + "?version=2"
    )
    assert export["Content-Disposition"] == 'attachment; filename="gomi-guide-v2.yaml"'
    assert "どれを出しますか。" in export.content.decode()
    actions = set(AuditEntry.objects.filter(actor_label="dept_manager-gomi").values_list("action", flat=True))
    assert {
        "scenarios.version.saved",
        "scenarios.version.published",
        "scenarios.version.rolled_back",
        "scenarios.scenario.exported",
    } <= actions


def test_mistakes_are_shown_in_the_editor_and_nothing_is_saved(staff_client, db):
    client = staff_client("dept_manager")
    broken = (
        SOURCE.replace("next: bye", "next: nowhere")
        + "  - {id: x, kind: message, text: '"
        + "あ" * 5001
        + "'}\n"
    )
    page = client.post(reverse("console:scenario_new_yaml"), {"source": broken}).content.decode()
    assert "2 件の問題があります。" in page
    assert "ステップ「start」の 1 番目の選択肢の next: ステップ「nowhere」はありません。" in page
    assert "ステップ「x」の text: ja の文章が長すぎます (5001 文字、5000 文字まで)。" in page
    bomb = "a: &a [1,1,1,1,1,1,1,1]\nb: [*a,*a,*a,*a,*a,*a,*a,*a]\n"
    assert (
        "エイリアス (*) は使えません"
        in client.post(reverse("console:scenario_new_yaml"), {"source": bomb}).content.decode()
    )
    assert not Scenario.objects.exists()


def test_the_slug_cannot_be_changed_or_taken_from_another_department(staff_client, db):
    road = staff_client("dept_manager", "doro")
    road.post(reverse("console:scenario_new_yaml"), {"source": SOURCE})
    scenario = Scenario.objects.get(slug="gomi-guide")
    renamed = road.post(
        reverse("console:scenario_edit_yaml", kwargs={"scenario_id": scenario.pk}),
        {"source": SOURCE.replace("slug: gomi-guide", "slug: other")},
    )
    assert "slug は変更できません" in renamed.content.decode()
    gomi = staff_client("dept_manager", "gomi")
    assert gomi.get(reverse("console:scenario", kwargs={"scenario_id": scenario.pk})).status_code == 404
    assert (
        "別の課のシナリオ"
        in gomi.post(reverse("console:scenario_new_yaml"), {"source": SOURCE}).content.decode()
    )
    upload = SimpleUploadedFile("gomi.yaml", SOURCE.encode())
    page = gomi.post(reverse("console:scenario_import"), {"file": upload}, follow=True).content.decode()
    assert "別の課のシナリオ" in page
    assert Scenario.objects.get(slug="gomi-guide").versions.count() == 1


def test_import_a_file_and_refuse_a_hostile_one(staff_client, db):
    client = staff_client("admin", None)
    upload = SimpleUploadedFile("typhoon.yaml", (DATA / "typhoon-support.yaml").read_bytes())
    page = client.post(
        reverse("console:scenario_import"), {"file": upload, "publish": "on"}, follow=True
    ).content.decode()
    assert "「台風被災者支援」を第 1 版 (公開中) として取り込みました。" in page
    for hostile, expected in [
        (b"\xff\xfe\x00", "UTF-8"),
        (b"x: " + b"y" * 300_000, "ファイルが大きすぎます"),
        (b"!!python/object/apply:os.system ['id']", "読み込めません"),
        (SOURCE.replace("kind: end", "kind: explode").encode(), "kind「explode」はありません"),
    ]:
        upload = SimpleUploadedFile("hostile.yaml", hostile)
        page = client.post(reverse("console:scenario_import"), {"file": upload}, follow=True).content.decode()
        assert expected in page, expected
    assert Scenario.objects.count() == 1


def test_writes_need_the_csrf_token(make_staff, scenario):
    client = signed_in(make_staff("admin", None))
    client.handler.enforce_csrf_checks = True
    for name in ("console:scenario_publish", "console:scenario_toggle", "console:scenario_preview"):
        response = client.post(reverse(name, kwargs={"scenario_id": scenario.pk}))
        assert response.status_code == 403
    assert Scenario.objects.get(pk=scenario.pk).is_active


def test_deactivate_and_activate(staff_client, scenario):
    client = staff_client("delivery", "gomi")
    client.post(reverse("console:scenario_toggle", kwargs={"scenario_id": scenario.pk}))
    assert not Scenario.objects.get(pk=scenario.pk).is_active
    assert AuditEntry.objects.filter(action="scenarios.scenario.deactivated").exists()


def test_preview_starts_the_draft_on_the_staff_members_test_phone(sim, channel, make_staff):
    published = scenario_import((DATA / "typhoon-support.yaml").read_bytes(), publish=True)
    draft_source = SOURCE.replace("slug: gomi-guide", "slug: typhoon-support").replace(
        "どちらですか。", "下書きの質問です。"
    )
    scenario_import(draft_source.encode())
    staff = make_staff("dept_manager")
    client = signed_in(staff)
    scenario = published.scenario
    page = client.get(reverse("console:scenario", kwargs={"scenario_id": scenario.pk})).content.decode()
    own_phone = preview_user_id(staff.user.get_username())
    assert f"{sim.url}/phone?user={own_phone}" in page
    sim.send(own_phone, {"type": "follow"})  # the test phone is a friend of the city, as a resident is
    run_tasks()
    refused = client.post(
        reverse("console:scenario_preview", kwargs={"scenario_id": scenario.pk}),
        {"line_user_id": "U" + "9" * 32},  # a resident who is not a test phone
        follow=True,
    )
    assert "この電話にはプレビューを送れません。" in refused.content.decode()
    assert sim.messages("U" + "9" * 32) == []
    sent = client.post(
        reverse("console:scenario_preview", kwargs={"scenario_id": scenario.pk}),
        {"line_user_id": own_phone},
        follow=True,
    )
    assert "第 2 版を 自分のテスト用の電話 (linesim) に送りました。" in sent.content.decode()
    *_greeting, message = sim.messages(own_phone)
    assert message["text"] == "下書きの質問です。" and message["via"] == "push"
    state = FlowState.objects.get(resident__line_user_id=own_phone)
    assert state.data["version"] == scenario.draft.pk
    # The staff member answers on the phone: the draft goes on, though version 1 is published.
    sim.send(
        own_phone,
        {"type": "postback", "postback": {"data": message["quickReply"]["items"][0]["action"]["data"]}},
    )
    run_tasks()
    assert sim.messages(own_phone)[-1]["text"] == "ありがとうございました。"
    assert AuditEntry.objects.filter(action="scenarios.version.previewed").exists()
    assert ScenarioVersion.objects.get(pk=published.pk).status == ScenarioVersion.Status.PUBLISHED
