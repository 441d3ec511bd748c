"""A resident in a scenario: every step kind, answers that do not fit, branches, jumps, stale
buttons, versions pinned mid-flow, cancelling and trigger words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.channels.base import Buttons, DatetimePickerAction, LocationAction, Text
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import Turn
from madoguchi.faq.models import FaqEntry
from madoguchi.inbox.services import conversation_close, conversation_current
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.runtime import scenario_start
from madoguchi.scenarios.services import scenario_import, scenario_publish
from tests.scenarios.conftest import actions, labels, publish

SOFA = """
slug: sofa
title: 粗大ごみ申し込み
triggers: [粗大ごみ申込]
steps:
  - id: hello
    kind: message
    text: {ja: ようこそ, ja-easy: ようこそ (やさしい), en: Welcome}
    next: item
  - id: item
    kind: ask
    capture: text
    var: item
    max_length: 10
    text: 何を出しますか。
    next: count
  - id: count
    kind: ask
    capture: number
    var: count
    min: 1
    max: 5
    text: いくつですか。
    next: day
  - id: day
    kind: ask
    capture: date
    var: day
    min: today
    max: today+60d
    text: いつ出しますか。
    next: photo
  - id: photo
    kind: ask
    capture: photo
    var: photo
    text: 写真を送ってください。
    next: place
  - id: place
    kind: ask
    capture: location
    var: place
    text: 場所を送ってください。
    next: size
  - id: size
    kind: message
    text: "{item} を {count} 個、{day} に {place} で。大きさは?"
    var: size
    choices:
      - {label: {ja: 大きい, en: Big}, value: big, next: check}
      - {label: {ja: 小さい, en: Small}, value: small, next: check}
  - id: check
    kind: branch
    rules:
      - if: {all: [{var: size, op: eq, value: big}, {var: count, op: ge, value: 3}]}
        next: truck
      - if: {attr: language, op: eq, value: en}
        next: english
    else: done
  - id: truck
    kind: message
    text: トラックで伺います。
    next: done
  - id: english
    kind: goto
    action: language
  - id: done
    kind: end
    text: 受け付けました。
"""


def state() -> FlowState:
    return FlowState.objects.get()


def to_size_step(phone, count: str = "3") -> None:
    phone.say("粗大ごみ申込")
    phone.say("ソファー")
    phone.say(count)
    phone.say(timezone.localdate().isoformat())
    phone.photo("468789577898262530")
    phone.location(latitude=35.68, longitude=139.76, address="みどり市中央1-2-3")


def test_a_scenario_runs_every_kind_of_step(phone, db):
    publish(SOFA)
    assert phone.say("粗大ごみ申込") and phone.texts == ["ようこそ", "何を出しますか。"]
    assert "やめる" in labels(phone.last)
    assert phone.say("ソファー") and phone.texts == ["いくつですか。"]
    assert phone.say("たくさん") and phone.texts == ["数字で入力してください (例: 3)。", "いくつですか。"]
    assert phone.say("9")[0].text == "1 から 5 までの数で入力してください。"
    assert phone.say("３個") and phone.texts == ["いつ出しますか。"]
    picker = next(a for a in actions(phone.last) if isinstance(a, DatetimePickerAction))
    assert picker.min == timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    phone.postback(picker.data, {"date": tomorrow})
    assert phone.texts == ["写真を送ってください。"]
    assert phone.say("写真です")[0].text.startswith("写真を送ってください (下の")
    assert phone.photo("468789577898262530") and phone.texts == ["場所を送ってください。"]
    assert any(isinstance(a, LocationAction) for a in actions(phone.last))
    phone.location(latitude=35.68, longitude=139.76, address="みどり市中央1-2-3")
    assert phone.texts == [f"ソファー を 3 個、{tomorrow} に みどり市中央1-2-3 で。大きさは?"]
    answers = state().data["vars"]
    assert answers["photo"] == "468789577898262530"  # the LINE message id, not the image
    assert answers["place"] == {"lat": 35.68, "lng": 139.76, "address": "みどり市中央1-2-3"}
    phone.tap("大きい")
    assert phone.texts == ["トラックで伺います。", "受け付けました。"]
    assert not FlowState.objects.exists()
    assert "メニュー" in labels(phone.last)  # over: the menu for what comes next


def test_a_typed_label_chooses_and_other_words_ask_again(phone, db):
    publish(SOFA)
    to_size_step(phone, count="1")
    phone.say("中くらい")
    assert phone.texts[0].startswith("下の選択肢からお選びください")
    assert phone.texts[1].startswith("ソファー を 1 個")
    phone.say("小さい")
    assert phone.texts == ["受け付けました。"]


@pytest.mark.parametrize(
    ("step_answers", "hostile", "error"),
    [
        ([], "あ" * 11, "10 文字以内で入力してください。"),
        ([], "\x00\x01\x7f", "文字で入力してください。"),
        (["ソファー"], "9" * 400, "数字で入力してください (例: 3)。"),
        (["ソファー"], "1e999", "数字で入力してください (例: 3)。"),
        (["ソファー"], "2.5", "整数で入力してください (例: 3)。"),
        (["ソファー"], "-1", "1 から 5 までの数で入力してください。"),
        (["ソファー", "2"], "2024-02-30", "日付を 2024-04-01 や 令和6年4月1日 のように入力してください。"),
        (["ソファー", "2"], "2000-01-01", "までの日付を入力してください。"),
        (["ソファー", "2"], "' OR 1=1 --", "日付を 2024-04-01 や"),
    ],
)
def test_answers_that_do_not_fit_are_explained_in_japanese_and_asked_again(
    phone, db, step_answers, hostile, error
):
    publish(SOFA)
    phone.say("粗大ごみ申込")
    for answer in step_answers:
        phone.say(answer)
    waiting, before = state().step, state().data["vars"]
    phone.say(hostile)
    assert error in phone.texts[0]
    assert len(phone.last) == 2 and state().step == waiting  # asked again
    assert state().data["vars"] == before  # nothing lost


def test_a_sticker_or_a_broken_location_is_refused(phone, db):
    publish(SOFA)
    phone.say("粗大ごみ申込")
    assert phone.sticker()[0].text == "文字で入力してください。"
    for answer in ("ソファー", "2", timezone.localdate().isoformat()):
        phone.say(answer)
    phone.photo()
    for broken in ({"latitude": "nan", "longitude": 1}, {"latitude": 91, "longitude": 0}, {"address": "x"}):
        assert "位置情報" in phone.location(**broken)[0].text
    assert state().step == "place"


def test_a_date_in_the_japanese_era_and_the_age_it_gives(phone, db):
    publish(
        """
slug: age
title: 年齢
steps:
  - {id: born, kind: ask, capture: date, var: born, max: today, text: "生年月日は?", next: branch}
  - id: branch
    kind: branch
    rules: [{if: {var: born_age, op: ge, value: 18}, next: adult}]
    else: child
  - {id: adult, kind: end, text: "{born} 生まれ、{born_age} 歳の大人"}
  - {id: child, kind: end, text: 子ども}
triggers: [年齢]
"""
    )
    phone.say("年齢")
    phone.say("平成元年１月８日")
    assert phone.texts[0].startswith("1989-01-08 生まれ、") and phone.texts[0].endswith(" 歳の大人")
    assert int(phone.texts[0].split("、")[1].split(" ")[0]) >= 37
    phone.say("年齢")
    phone.say("R5.4.1")
    assert phone.texts == ["子ども"]


def test_branches_on_the_residents_language_and_jumps_to_an_action(phone, db):
    publish(SOFA)
    phone.resident.language = "en"
    phone.resident.save()
    to_size_step(phone, count="1")
    phone.tap("Small")
    assert phone.texts == ["Please choose your language."]  # in English: gettext, as the resident reads
    assert "English" in labels(phone.last)  # the chatbot's own language action answered
    assert not FlowState.objects.exists()


JUMPS = """
slug: jumps
title: 行き先
triggers: [行き先]
steps:
  - id: pick
    kind: message
    style: buttons
    title: 行き先
    text: どこへ?
    choices:
      - {label: 罹災証明書, faq: F082}
      - {label: 別のシナリオ, flow: sofa}
      - {label: 職員と話す, handoff: true}
      - {label: 存在しない, flow: no-such-flow}
"""


def test_jumps_to_an_faq_entry_another_scenario_and_a_person(phone, db, settings):
    FaqEntry.objects.create(external_id="F082", question="罹災証明書の申請", answer="市民課で申請できます。")
    publish(SOFA)
    publish(JUMPS)
    phone.say("行き先")
    assert isinstance(phone.last[0], Buttons) and phone.last[0].title == "行き先"
    phone.tap("罹災証明書")
    assert phone.texts[0].startswith("市民課で申請できます。")
    assert not FlowState.objects.exists()
    phone.say("行き先")
    phone.tap("別のシナリオ")
    assert phone.texts == ["ようこそ", "何を出しますか。"]
    assert state().data["scenario"] == "sofa"
    phone.say("やめる")
    phone.say("行き先")
    phone.tap("職員と話す")
    assert "職員におつなぎします" in phone.texts[0]  # the inbox takes over: a conversation opens
    conversation = conversation_current(phone.resident)
    assert conversation is not None
    conversation_close(conversation, actor=None, reason="resident")  # so the bot answers again
    phone.say("行き先")
    phone.tap("存在しない")
    assert phone.texts == ["このご案内は現在ご利用いただけません。"]


def test_scenarios_jumping_to_each_other_stop(phone, db):
    for me, other in (("ping", "pong"), ("pong", "ping")):
        publish(
            f"""
slug: {me}
title: {me}
triggers: [{me}]
steps:
  - {{id: hop, kind: goto, flow: {other}}}
"""
        )
    phone.say("ping")
    assert phone.texts == ["このご案内は現在ご利用いただけません。"]
    assert not FlowState.objects.exists()


def test_a_button_from_an_earlier_question_asks_the_current_one_again(phone, db):
    publish(SOFA)
    to_size_step(phone, count="1")
    big = next(a for a in actions(phone.last) if a.label == "大きい")
    phone.tap("小さい")  # finishes the scenario
    phone.postback(big.data)
    assert phone.texts[0].startswith("このご案内は終了しています。")
    phone.tap("最初から")
    assert phone.texts == ["ようこそ", "何を出しますか。"]
    phone.postback(big.data)  # the scenario again, but at another step
    assert phone.texts == ["前の質問のボタンです。いまの質問にお答えください。", "何を出しますか。"]
    assert state().step == "item"


@pytest.mark.parametrize(
    "data",
    [
        "a=scenario.choose",
        "a=scenario.choose&v=abc&s=size&c=0",
        "a=scenario.choose&v=99999999999999999999999&s=size&c=0",
        "a=scenario.choose&v={v}&s=size&c=99",
        "a=scenario.choose&v={v}&s=size&c=-1",
        "a=scenario.choose&v={v}&s=" + "x" * 500 + "&c=0",
        "a=scenario.date&v={v}&s=day",
        "a=scenario.start&slug=../../etc",
    ],
)
def test_forged_postbacks_change_nothing(phone, db, data):
    version = publish(SOFA)
    to_size_step(phone, count="1")
    before = state().data
    answer = phone.postback(data.format(v=version.pk))
    assert answer and all(isinstance(m, Text | Buttons) for m in answer)
    if "scenario.start" not in data:
        assert state().step == "size" and state().data == before


def test_residents_keep_the_version_they_started(phone, db):
    publish(SOFA)
    phone.say("粗大ごみ申込")
    changed = SOFA.replace("text: いくつですか。", "text: 何個ですか。")
    publish(changed)
    phone.say("ソファー")
    assert phone.texts == ["いくつですか。"]  # still the version they started
    phone.say("やめる")
    phone.say("粗大ごみ申込")
    phone.say("ソファー")
    assert phone.texts == ["何個ですか。"]


def test_a_draft_edited_under_a_running_preview_starts_over(phone, db):
    version = scenario_import(SOFA.encode())
    resident = phone.resident
    scenario_start(
        Turn(channel=resident.channel, resident=resident, event_type="preview", payload={}), version
    )
    shorter = dict(version.definition, steps=[s for s in version.definition["steps"] if s["id"] != "item"])
    shorter["steps"][0] = {**shorter["steps"][0], "next": "count"}
    ScenarioVersion.objects.filter(pk=version.pk).update(definition=shorter)
    phone.say("ソファー")
    assert phone.texts == ["このご案内は更新されたため、最初からやり直してください。"]
    assert not FlowState.objects.exists()


def test_cancel_words_end_a_scenario(phone, db):
    publish(SOFA)
    phone.say("粗大ごみ申込")
    phone.tap("やめる")
    assert phone.texts == ["手続きを中止しました。"]
    assert not FlowState.objects.exists()


def test_trigger_words_start_only_published_active_scenarios(phone, demo_flows, db, settings):
    settings.HANDOFF_AFTER_MISSES = 100  # the misses below would otherwise hand the resident to staff
    assert phone.say("台風")[0].text.startswith("【デモ】台風で被害を受けた方へ")
    phone.say("やめる")
    assert phone.say("台風の支援")[0].text.startswith("【デモ】台風で被害")  # short message containing it
    phone.say("やめる")
    phone.say("台風で屋根が壊れたので罹災証明書の申請方法を詳しく知りたい")  # a long question: the FAQ's
    assert not FlowState.objects.exists()
    scenario = demo_flows["typhoon-support"].scenario
    scenario.is_active = False
    scenario.save()
    phone.say("台風")
    assert not FlowState.objects.exists()
    draft_only = scenario_import(SOFA.encode())
    assert draft_only.status == ScenarioVersion.Status.DRAFT
    phone.say("粗大ごみ申込")
    assert not FlowState.objects.exists()
    scenario_publish(draft_only)
    phone.say("粗大ごみ申込")
    assert state().data["scenario"] == "sofa"


def test_the_typhoon_relief_payment_path(phone, demo_flows):
    phone.say("台風")
    phone.tap("見舞金")
    phone.tap("床上浸水")
    assert phone.say("三人")[0].text == "世帯の人数は 1 から 20 までの数字で送ってください (例：3)。"
    phone.say("3")
    assert phone.texts[0].startswith("【デモ】床上浸水の世帯 (3 人) への見舞金は 5 万円です。")
    assert "罹災証明書の申請" in labels(phone.last)


def test_the_childcare_guide_gives_personal_information(phone, demo_flows):
    born = timezone.localdate().replace(day=1) - timedelta(days=400)  # about 1 year old
    phone.say("子育て")
    phone.tap("はじめる")
    phone.tap("いいえ")
    phone.tap("いる")
    phone.say(born.isoformat())
    phone.tap("山手")
    assert phone.texts[0].startswith(f"【デモ】1〜2 歳のお子さん ({born.isoformat()} 生まれ)")
    assert "みどりっこひろば山手" in phone.texts[1]
    assert len(labels(phone.last)) <= 13


def _register(resident, *, district="kita", born=None):
    from madoguchi.residents.models import Child, District

    resident.district, _ = District.objects.get_or_create(code=district, defaults={"name": "北地区"})
    resident.registered_at = timezone.now()
    resident.save()
    if born is not None:
        Child.objects.create(resident=resident, birthdate=born)


def test_the_childcare_guide_uses_what_the_resident_registered_and_asks_only_the_rest(phone, demo_flows):
    born = timezone.localdate().replace(day=1) - timedelta(days=400)  # about 1 year old
    _register(phone.resident, born=born)
    phone.say("子育て")
    phone.tap("はじめる")
    phone.tap("いいえ")  # pregnant? (not registered): asked; children and district are not
    assert phone.texts[0].startswith(f"【デモ】1〜2 歳のお子さん ({born.isoformat()} 生まれ)")
    assert "みどりっこひろば北" in phone.texts[1]


def test_the_childcare_guide_asks_for_the_district_of_a_registered_resident_without_one(phone, demo_flows):
    phone.resident.registered_at = timezone.now()  # registered, no child, no district
    phone.resident.save()
    phone.say("子育て")
    phone.tap("はじめる")
    phone.tap("いいえ")
    assert phone.texts == ["お住まいの地区を選んでください。近くの子育て支援センターをご案内します。"]
    phone.tap("港")
    assert "みどりっこひろば港" in phone.texts[0]


ATTRS = """
slug: attrs
title: 属性
triggers: [属性]
steps:
  - id: check
    kind: branch
    rules:
      - if: {all: [{attr: district, op: eq, value: kita}, {attr: interests, op: contains, value: bousai}]}
        next: kita-bousai
      - if: {attr: tags, op: contains, value: 子育て世帯}
        next: tagged
      - if: {all: [{attr: has_children, op: eq, value: "yes"}, {attr: child_age_months, op: lt, value: 6}]}
        next: baby
      - if: {any: [{attr: audience, op: eq, value: tourist}, {attr: age_band, op: in, value: [60s, 70plus]}]}
        next: visitor-or-senior
      - if: {attr: interests, op: missing}
        next: nothing
    else: other
  - {id: kita-bousai, kind: end, text: 北地区で防災}
  - {id: tagged, kind: end, text: 子育て世帯タグ}
  - {id: baby, kind: end, text: 6か月未満}
  - {id: visitor-or-senior, kind: end, text: 観光か年配}
  - {id: nothing, kind: end, text: 関心なし}
  - {id: other, kind: end, text: その他}
"""


def test_branches_on_what_residents_registered(phone, db):
    from madoguchi.residents.models import Child, District, Interest, Tag

    publish(ATTRS)
    resident = phone.resident
    assert phone.say("属性")[0].text == "関心なし"  # nothing registered
    resident.audience = "tourist"
    resident.save()
    assert phone.say("属性")[0].text == "観光か年配"
    resident.audience = ""
    resident.save()
    Child.objects.create(resident=resident, birthdate=timezone.localdate() - timedelta(days=60))
    assert phone.say("属性")[0].text == "6か月未満"
    resident.tags.add(Tag.objects.create(name="子育て世帯"))
    assert phone.say("属性")[0].text == "子育て世帯タグ"
    resident.district = District.objects.create(code="kita", name="北地区")
    resident.save()
    resident.interests.add(Interest.objects.create(code="bousai", name="防災"))
    assert phone.say("属性")[0].text == "北地区で防災"
    resident.district = District.objects.create(code="minami", name="南地区")
    resident.save()
    resident.tags.clear()
    Child.objects.all().delete()
    assert phone.say("属性")[0].text == "その他"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ja", "いま妊娠中ですか。"),
        ("ja-easy", "いま おなかに あかちゃんが いますか。"),
        ("en", "Are you pregnant now?"),
        ("zh", "いま妊娠中ですか。"),  # no Chinese written: Japanese
    ],
)
def test_residents_get_their_language_where_staff_wrote_it(phone, demo_flows, language, expected):
    phone.resident.language = language
    phone.resident.save()
    phone.say("子育て")
    phone.tap({"en": "Start"}.get(language, "はじめる"))
    assert phone.texts[-1] == expected
    if language in ("en", "zh"):
        assert "国際交流センター" in phone.texts[0] or "International Centre" in phone.texts[0]
    else:
        assert len(phone.last) == 1


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("en", "Please answer with a number (e.g. 3)."),  # the bot's own words, translated
        ("vi", "数字で入力してください (例: 3)。"),  # no Vietnamese: Japanese
    ],
)
def test_errors_are_in_the_residents_language_where_there_is_one(phone, db, language, error):
    publish(SOFA)
    phone.resident.language = language
    phone.resident.save()
    phone.say("粗大ごみ申込")
    phone.say("sofa")
    assert phone.say("many")[0].text == error
