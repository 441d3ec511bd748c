"""The demo city みどり市: its LINE channels (matching linesim's), departments, a login for each
role, keywords, the FAQ, canned replies.

Idempotent: running it again updates what it made and creates nothing twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from madoguchi.accounts.models import Department, StaffProfile
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.chatbot.models import Keyword
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.demo.bulky import demo_bulky
from madoguchi.demo.disaster import demo_shelters
from madoguchi.demo.garbage import demo_garbage
from madoguchi.demo.reports import demo_reports
from madoguchi.demo.richmenus import demo_richmenus_setup
from madoguchi.faq.models import FaqEntry
from madoguchi.faq.services import faq_import
from madoguchi.inbox.models import CannedReply
from madoguchi.residents.models import District, Interest
from madoguchi.scenarios.definition import definition_load
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.services import preview_user_id, scenario_import

# linesim's default channel (docs/linesim.md); only ever used against linesim.
DEMO_CHANNEL_ID = "2000000001"
DEMO_CHANNEL_SECRET = "linesim-demo-secret"
DEMO_ACCESS_TOKEN = "linesim-demo-token"
# The LIFF app (registration and other resident forms) on the city's LINE Login channel; `madoguchi
# demo` registers it in linesim with the web server's /liff/ as its endpoint.
DEMO_LOGIN_CHANNEL_ID = "2000000101"
DEMO_LIFF_ID = "2000000101-midori"
# The counseling line: a second LINE account, registered in linesim by `madoguchi demo`.
COUNSELING_CHANNEL_ID = "2000000002"
COUNSELING_CHANNEL_SECRET = "linesim-counseling-secret"
COUNSELING_ACCESS_TOKEN = "linesim-counseling-token"
DEPARTMENTS = [
    ("gomi", "ごみ減量課"),
    ("doro", "道路維持課"),
    ("bosai", "防災課"),
    ("koho", "広報課"),
    ("fukushi", "福祉課"),
]
# (username, role, department code). Roles marked with two-factor set it up at first sign-in.
DEMO_STAFF = [
    ("demo-manager", Role.DEPT_MANAGER, "gomi"),
    ("demo-staff", Role.DEPT_STAFF, "doro"),
    ("demo-pr", Role.DELIVERY, "koho"),
    ("demo-admin", Role.ADMIN, None),
    ("demo-auditor", Role.AUDITOR, None),
    ("demo-counselor", Role.COUNSELOR, "fukushi"),
]
DEMO_USERNAME = "demo-manager"
# (department code or None, for counseling, title, text)
DEMO_CANNED_REPLIES = [
    (None, False, "受付", "お問い合わせありがとうございます。担当の職員が確認して、順にお返事します。"),
    (None, False, "電話案内", "詳しくは市役所 代表 0120-000-000 (平日 8:30〜17:15) までお電話ください。"),
    (
        "gomi",
        False,
        "粗大ごみ予約",
        "粗大ごみは予約制です。メニューの「粗大ごみ」から日にちを選んで申し込めます。",
    ),
    (
        None,
        True,
        "はじめに",
        "相談員です。話してくれてありがとう。ゆっくりで大丈夫なので、聞かせてください。",
    ),
    (
        None,
        True,
        "いったん終える",
        "今日はここまでにしますね。また話したくなったら、いつでもメッセージを送ってください。",
    ),
]

DEMO_KEYWORDS = [
    ("ヘルプ", Keyword.Match.EXACT, "知りたいことを短い言葉で送ってください。例: 粗大ごみ、住民票、避難所"),
    ("こんにちは", Keyword.Match.CONTAINS, "こんにちは。みどり市公式 LINE です。ご用件をどうぞ。"),
]


# みどり市's districts (fictional) and the topics residents may choose to hear about.
DEMO_DISTRICTS = [
    ("chuo", "中央地区", "Chuo"),
    ("kita", "北地区", "Kita"),
    ("minami", "南地区", "Minami"),
    ("higashi", "東地区", "Higashi"),
    ("nishi", "西地区", "Nishi"),
    ("minato", "港地区", "Minato"),
]
DEMO_INTERESTS = [
    ("bousai", "防災", "Disaster preparedness"),
    ("kosodate", "子育て", "Child-rearing"),
    ("kenkou", "健康", "Health"),
    ("event", "イベント", "Events"),
    ("gomi", "ごみ", "Garbage"),
    ("kankou", "観光", "Tourism"),
    ("zeikin", "税金", "Taxes"),
]


@dataclass
class DemoLogin:
    username: str
    password: str


@transaction.atomic
def demo_setup() -> DemoLogin:
    Channel.objects.update_or_create(
        slug="main",
        defaults={
            "name": "みどり市公式",
            "provider_channel_id": DEMO_CHANNEL_ID,
            "channel_secret": DEMO_CHANNEL_SECRET,
            "access_token": DEMO_ACCESS_TOKEN,
            "token_kind": Channel.TokenKind.LONG_LIVED,
            "login_channel_id": DEMO_LOGIN_CHANNEL_ID,
            "liff_id": DEMO_LIFF_ID,
            "is_active": True,
        },
    )
    for phrase, match, reply in DEMO_KEYWORDS:
        Keyword.objects.update_or_create(
            phrase=phrase, channel=None, defaults={"match": match, "reply_text": reply}
        )
    Channel.objects.update_or_create(
        slug="soudan",
        defaults={
            "name": "みどり市 こころの相談",
            "provider_channel_id": COUNSELING_CHANNEL_ID,
            "channel_secret": COUNSELING_CHANNEL_SECRET,
            "access_token": COUNSELING_ACCESS_TOKEN,
            "token_kind": Channel.TokenKind.LONG_LIVED,
            "is_confidential": True,
            "is_active": True,
        },
    )
    departments = {
        code: Department.objects.update_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEPARTMENTS
    }
    login = DemoLogin(DEMO_USERNAME, _demo_password())
    created = False
    for username, role, department in DEMO_STAFF:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            staff_create(
                username=username,
                password=login.password,
                role=role,
                department=departments.get(department or ""),
            )
            created = True
            continue
        # Made by an earlier demo: same password as the others, and the role this list gives.
        user.set_password(login.password)
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["password", "is_staff", "is_superuser"])
        StaffProfile.objects.update_or_create(
            user=user, defaults={"role": role, "department": departments.get(department or "")}
        )
    # Each demo staff member's own LINE account is their linesim test phone, so a delivery's
    # test send shows on http://127.0.0.1:8001/phone?user=<id>.
    for username, _role, _department in DEMO_STAFF:
        StaffProfile.objects.filter(user__username=username).update(line_user_id=preview_user_id(username))
    for department, for_counseling, title, text in DEMO_CANNED_REPLIES:
        CannedReply.objects.update_or_create(
            title=title,
            for_counseling=for_counseling,
            defaults={"text": text, "department": departments.get(department or "")},
        )
    # The みどり市 FAQ (CC0, written for this project): see madoguchi/faq/data/SOURCE.md.
    faq_import(
        (Path(__file__).parent.parent / "faq" / "data" / "midori-faq.csv").read_bytes(), "midori-faq.csv"
    )
    _demo_answer_languages()
    _demo_scenarios()
    for order, (code, name, english) in enumerate(DEMO_DISTRICTS):
        District.objects.update_or_create(
            code=code, defaults={"name": name, "names_by_language": {"en": english}, "sort_order": order}
        )
    for order, (code, name, english) in enumerate(DEMO_INTERESTS):
        Interest.objects.update_or_create(
            code=code, defaults={"name": name, "names_by_language": {"en": english}, "sort_order": order}
        )
    demo_richmenus_setup()
    demo_reports()
    demo_garbage()
    demo_bulky()
    demo_shelters()
    audit_record(action="demo.setup", data={"staff_created": created})
    return login


# Answers staff wrote in やさしい日本語 and English for a few common questions (written for the
# demo); a resident who picks that language on the phone gets them, Japanese for the rest.
DEMO_ANSWERS_BY_LANGUAGE = {
    "F002": {
        "ja-easy": "ごみを あつめる 日は、すんでいる ところで ちがいます。"
        "「ごみ しゅうしゅう カレンダー」を 見て ください。市役所で もらえます。",
        "en": "Collection days differ by district. See your district's garbage calendar, on the city "
        "website or at the city hall and branch offices.",
    },
    "F005": {
        "ja-easy": "大きい ごみ（そだいごみ）は、先に もうしこみが ひつようです。"
        "「そだいごみ うけつけ センター」に 電話か インターネットで もうしこんで ください。",
        "en": "Oversized garbage is collected by appointment. Book with the Oversized Garbage Centre "
        "by phone (Mon–Sat 8:30–17:00) or online, and put it out by 8:30 on the day.",
    },
    "F018": {
        "ja-easy": "マイナンバーカードが あれば、コンビニで じゅうみんひょうが とれます。"
        "1つ 200円です。朝 6時30分から 夜 11時まで です。",
        "en": "With a My Number Card you can print a residence certificate at convenience stores, "
        "6:30–23:00, for 200 yen.",
    },
}


def _demo_answer_languages() -> None:
    """Add the demo's other-language answers where staff have not written their own."""
    for entry in FaqEntry.objects.filter(external_id__in=DEMO_ANSWERS_BY_LANGUAGE):
        written = DEMO_ANSWERS_BY_LANGUAGE[entry.external_id]
        merged = {**written, **(entry.answers_by_language or {})}
        if merged != entry.answers_by_language:
            entry.answers_by_language = merged
            entry.save(update_fields=["answers_by_language", "updated_at"])


def _demo_scenarios() -> None:
    """台風被災者支援 and 子育て支援ガイド (madoguchi/scenarios/data), published; a file that
    changed is published as a new version, an unchanged one is left alone."""
    for path in sorted((Path(__file__).parent.parent / "scenarios" / "data").glob("*.yaml")):
        content = path.read_bytes()
        published = ScenarioVersion.objects.filter(
            scenario__slug=definition_load(content)["slug"], status=ScenarioVersion.Status.PUBLISHED
        ).first()
        if published is None or published.source != content.decode("utf-8-sig"):
            scenario_import(content, publish=True)


def _demo_password() -> str:
    """A random password kept in the data folder, so the demo login survives restarts."""
    path = settings.DATA_DIR / "demo-login.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
