"""Madoguchi's settings: every value comes from the environment, with a safe demo default.

`.env.example` at the top of the project lists and explains each one. Production differs from
the demo only through the environment (no production-only settings module).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from madoguchi.settings_env import env_bool, env_int, env_list, env_secret, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("MADOGUCHI_DATA_DIR", "var")).resolve()


def _demo_secret_key() -> str:
    """A random key kept in the data folder, so a demo install needs no configuration."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


DEBUG = env_bool("MADOGUCHI_DEBUG", False)
SECRET_KEY = env_secret("MADOGUCHI_SECRET_KEY") or _demo_secret_key()
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("MADOGUCHI_SECRET_KEY must be at least 32 characters long")

# Keys for data encrypted at rest (channel secrets and tokens). The first encrypts; all decrypt,
# so a key is rotated by putting a new one first and running `madoguchi rotate_keys`.
ENCRYPTION_KEYS = env_list("MADOGUCHI_ENCRYPTION_KEYS", [])

ALLOWED_HOSTS = env_list("MADOGUCHI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("MADOGUCHI_CSRF_TRUSTED_ORIGINS", [])
SECURE_COOKIES = env_bool("MADOGUCHI_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# A staff session ends after this long idle (each request renews it), and in any case this long
# after login.
SESSION_COOKIE_AGE = env_int("MADOGUCHI_SESSION_IDLE_SECONDS", 60 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True
MADOGUCHI_SESSION_MAX_SECONDS = env_int("MADOGUCHI_SESSION_MAX_SECONDS", 10 * 60 * 60, minimum=60)
# Failed logins (password or two-factor code) before an account is locked, and for how long.
MADOGUCHI_LOGIN_MAX_FAILURES = env_int("MADOGUCHI_LOGIN_MAX_FAILURES", 5, minimum=1)
MADOGUCHI_LOGIN_LOCK_SECONDS = env_int("MADOGUCHI_LOGIN_LOCK_SECONDS", 15 * 60, minimum=1)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
MADOGUCHI_BEHIND_TLS_PROXY = env_bool("MADOGUCHI_BEHIND_TLS_PROXY", False)
if MADOGUCHI_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "madoguchi.core",
    "madoguchi.accounts",
    "madoguchi.residents",
    "madoguchi.chatbot",
    "madoguchi.faq",
    "madoguchi.inbox",
    "madoguchi.scenarios",
    "madoguchi.messaging",
    "madoguchi.richmenus",
    "madoguchi.reports",
    "madoguchi.garbage",
    "madoguchi.bulky",
    "madoguchi.disaster",
    "madoguchi.channels.line",
    "madoguchi.registration",
    "madoguchi.console",
    "madoguchi.liff",
    "madoguchi.outcomes",
    "madoguchi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "madoguchi.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "madoguchi.core.middleware.ContentSecurityPolicyMiddleware",
]

# Map tiles for the report maps (Leaflet): a URL template with {z}/{x}/{y}, or empty for no
# tiles (markers on a plain background). Its host is the one foreign origin pages may load from.
MAP_TILE_URL = env_str("MADOGUCHI_MAP_TILE_URL", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png")
MAP_ATTRIBUTION = env_str("MADOGUCHI_MAP_ATTRIBUTION", "地理院タイル")
_TILE_ORIGIN = "/".join(MAP_TILE_URL.split("/")[:3]) if MAP_TILE_URL.startswith("https://") else ""

# The console loads nothing from elsewhere (but map tiles) and runs no inline script.
CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; img-src 'self' data: {_TILE_ORIGIN}; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# A refused form post (CSRF): residents on LIFF pages get a plain Japanese page, staff Django's.
CSRF_FAILURE_VIEW = "madoguchi.liff.views.csrf_failure"

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "madoguchi.console.nav.console_nav",
                "madoguchi.console.richmenu_views.disaster_banner",
            ],
        },
    },
]

# SQLite is the embedded default; PostgreSQL is the production database.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'madoguchi.sqlite3'}"),
        conn_max_age=env_int("MADOGUCHI_DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=env_bool("MADOGUCHI_DB_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and the scheduler share one file: WAL lets readers run beside
    # the writer, IMMEDIATE transactions and a busy timeout make writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that worker processes started by the tests see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The scenario editor posts a whole scenario as one form: 200 steps with texts in six languages
# are several thousand fields (Django's default allows 1,000). The body stays capped by
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("MADOGUCHI_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "console:login"
LOGOUT_REDIRECT_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"

# Background work: Django's Tasks API on the database (django-tasks-db). The demo runs the
# worker in its own process; production runs `madoguchi worker` on any number of machines.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "inbound"]}}

# LINE. The host is where the Messaging API is reached: linesim in the demo and the tests,
# https://api.line.me in production (the SDK then also uses api-data.line.me for content).
LINE_API_HOST = env_str("MADOGUCHI_LINE_API_HOST", "http://127.0.0.1:8001")
# Where images and files residents sent are fetched: https://api-data.line.me in production;
# empty means the API host (linesim serves both).
LINE_DATA_HOST = env_str("MADOGUCHI_LINE_DATA_HOST", "")
# The largest image or file a resident may send that we keep (LINE allows up to 300 MB for files).
LINE_CONTENT_MAX_BYTES = env_int("MADOGUCHI_LINE_CONTENT_MAX_BYTES", 10_000_000, minimum=1000)
LINE_TIMEOUT_SECONDS = env_int("MADOGUCHI_LINE_TIMEOUT_SECONDS", 10, minimum=1)
# A reply token is good for about a minute; after this many seconds we push instead.
LINE_REPLY_TOKEN_SECONDS = env_int("MADOGUCHI_LINE_REPLY_TOKEN_SECONDS", 50, minimum=0)
# How often one call is tried at once on 429 and 5xx before the task itself is retried later.
LINE_SEND_ATTEMPTS = env_int("MADOGUCHI_LINE_SEND_ATTEMPTS", 3, minimum=1)
LINE_BACKOFF_SECONDS = float(env_str("MADOGUCHI_LINE_BACKOFF_SECONDS", "0.5"))
# Replies to a batch of events go this many at a time (each waits a round trip to LINE).
LINE_REPLY_THREADS = env_int("MADOGUCHI_LINE_REPLY_THREADS", 8, minimum=1)
WEBHOOK_MAX_BODY_BYTES = env_int("MADOGUCHI_WEBHOOK_MAX_BODY_BYTES", 1_000_000, minimum=1024)

# Processing of an inbound event is tried this many times, with growing waits, before it is
# marked failed for staff to see and replay.
EVENT_MAX_ATTEMPTS = env_int("MADOGUCHI_EVENT_MAX_ATTEMPTS", 5, minimum=1)
EVENT_RETRY_SECONDS = env_int("MADOGUCHI_EVENT_RETRY_SECONDS", 10, minimum=0)
# An event still "processing" after this long belonged to a worker that died; it is re-queued.
EVENT_STUCK_SECONDS = env_int("MADOGUCHI_EVENT_STUCK_SECONDS", 300, minimum=1)
# How many waiting events a worker claims at once (one statement), processes, then marks done.
EVENT_BATCH = env_int("MADOGUCHI_EVENT_BATCH", 50, minimum=1)

# Loops `madoguchi worker` runs beside its task loop, by the queue name that selects them
# (`--queues`): stored inbound events are their own queue (channels/line/inbound.py).
WORKER_LOOPS = {"inbound": "madoguchi.channels.line.inbound.events_loop"}

# Which code sends on which kind of channel (channels.base resolves it; domain apps never
# import an integration directly).
CHANNEL_TRANSPORTS = {"line": "madoguchi.channels.line.client.LineTransport"}
CHANNEL_RICH_MENUS = {"line": "madoguchi.channels.line.richmenu.LineRichMenus"}

# Rich menus. The address residents' phones reach Madoguchi at: a menu cell may open one of its
# pages by path (/liff/register/ …), and LINE fetches FAQ pictures from it (https in production).
MADOGUCHI_PUBLIC_URL = env_str("MADOGUCHI_PUBLIC_URL", "http://127.0.0.1:8000")
# LINE allows 100 menu creations and 3 batch moves an hour: a sync told to slow down waits this long.
MADOGUCHI_RICHMENU_RATE_WAIT_SECONDS = env_int("MADOGUCHI_RICHMENU_RATE_WAIT_SECONDS", 600, minimum=0)
# How often a sync asks LINE whether a batch move has finished (100 an hour at most).
MADOGUCHI_RICHMENU_POLL_SECONDS = env_int("MADOGUCHI_RICHMENU_POLL_SECONDS", 15, minimum=0)
# A sync with no sign of life for this long belonged to a worker that stopped; it is resumed.
MADOGUCHI_RICHMENU_STUCK_SECONDS = env_int("MADOGUCHI_RICHMENU_STUCK_SECONDS", 300, minimum=1)
# Failures (5xx, dropped connections) after which a sync stops and shows its error.
MADOGUCHI_RICHMENU_JOB_ATTEMPTS = env_int("MADOGUCHI_RICHMENU_JOB_ATTEMPTS", 8, minimum=1)

# Deliveries (madoguchi.messaging). LINE allows 200 multicast requests a second per channel; we
# pace below it. Senders are threads of one worker sending batches at once (PostgreSQL; SQLite
# sends one at a time). A batch claimed longer ago than the stale time belonged to a worker that
# died: it is sent again under the same retry key, which LINE turns into a no-op if it went out.
DELIVERY_MULTICAST_PER_SECOND = float(env_str("MADOGUCHI_DELIVERY_MULTICAST_PER_SECOND", "195"))
DELIVERY_SENDERS = env_int("MADOGUCHI_DELIVERY_SENDERS", 12, minimum=1)
DELIVERY_STALE_SECONDS = env_int("MADOGUCHI_DELIVERY_STALE_SECONDS", 60, minimum=1)
# One worker task sends for at most this long, then hands over (other tasks get their turn).
DELIVERY_SLICE_SECONDS = env_int("MADOGUCHI_DELIVERY_SLICE_SECONDS", 120, minimum=1)

# The city's name as residents see it in the bot's words.
MADOGUCHI_CITY_NAME = env_str("MADOGUCHI_CITY_NAME", "みどり市")
# LINE user ids of staff's own phones that may receive scenario previews from the console
# (besides each staff member's own test user on linesim's phone page).
MADOGUCHI_PREVIEW_LINE_USER_IDS = env_list("MADOGUCHI_PREVIEW_LINE_USER_IDS", [])
# How a resident reaches a person (shown when they ask for one).
MADOGUCHI_CONTACT_TEXT = env_str(
    "MADOGUCHI_CONTACT_TEXT", "市役所 代表 0120-000-000 (平日 8:30〜17:15) までお電話ください。"
)
# The topics the bot's menu offers, one tap each (each is sent as the resident's question).
MADOGUCHI_MENU_TOPICS = env_list(
    "MADOGUCHI_MENU_TOPICS",
    # 台風の被害 and 子育て支援 start the demo scenarios (their trigger words).
    [
        "ごみの分け方",
        "ごみの収集日",
        "住民票の写しはどこで取れますか",
        "近くの避難所",
        "台風の被害",
        "子育て支援",
    ],
)
# The city's own place names (its name, districts): a question naming any other place is about
# another city's service, and the FAQ does not answer it.
# FAQ categories answered first while disaster mode is on (docs/disaster.md).
MADOGUCHI_DISASTER_FAQ_CATEGORIES = env_list("MADOGUCHI_DISASTER_FAQ_CATEGORIES", ["防災", "災害"])
# Alert feeds (docs/disaster.md): the longest one HTTP fetch of a feed or an entry may take, start
# to last byte, and the longest one poll of a feed may take (entries not reached wait for the next).
MADOGUCHI_ALERT_FEED_TIMEOUT_SECONDS = env_int("MADOGUCHI_ALERT_FEED_TIMEOUT_SECONDS", 10, minimum=1)
MADOGUCHI_ALERT_FEED_POLL_SECONDS = env_int("MADOGUCHI_ALERT_FEED_POLL_SECONDS", 60, minimum=1)
# A feed's URL must be https://; http:// too only where this is on (development, local servers).
MADOGUCHI_ALERT_FEED_ALLOW_HTTP = env_bool("MADOGUCHI_ALERT_FEED_ALLOW_HTTP", False)
MADOGUCHI_CITY_PLACES = env_list(
    "MADOGUCHI_CITY_PLACES", ["みどり市", "みどり", "中央", "北", "南", "東", "西", "港", "山手", "川辺"]
)

# Residents' registration: the version of the terms they consent to (a new version asks every
# resident to consent again) and where the terms are read (empty: Madoguchi's own page, /liff/terms/).
MADOGUCHI_TERMS_VERSION = env_str("MADOGUCHI_TERMS_VERSION", "2026-04")
MADOGUCHI_TERMS_URL = env_str("MADOGUCHI_TERMS_URL", "")
# LIFF pages (resident forms inside LINE). The SDK they load: empty means LINE's own
# (https://static.line-scdn.net/liff/edge/2/sdk.js) when MADOGUCHI_LINE_API_HOST is LINE's, else
# linesim's stand-in at <MADOGUCHI_LINE_API_HOST>/liff/sdk.js.
LIFF_SDK_URL = env_str("MADOGUCHI_LIFF_SDK_URL", "")
# How long a resident stays signed in on LIFF pages after LINE vouched for them.
LIFF_SESSION_SECONDS = env_int("MADOGUCHI_LIFF_SESSION_SECONDS", 30 * 60, minimum=60)

# The inbox (1:1 conversations with staff). Office hours as "days HH:MM-HH:MM" (mon..sun); Japanese
# public holidays (jpholiday) and the listed dates (YYYY-MM-DD, e.g. 12-29..01-03) are closed.
MADOGUCHI_OFFICE_HOURS = env_str("MADOGUCHI_OFFICE_HOURS", "mon-fri 08:30-17:15")
MADOGUCHI_COUNSELING_HOURS = env_str("MADOGUCHI_COUNSELING_HOURS", "mon-sun 17:00-22:00")
MADOGUCHI_CLOSED_DATES = env_list("MADOGUCHI_CLOSED_DATES", ["12-29", "12-30", "12-31", "01-02", "01-03"])
# A conversation nobody wrote in for this long is closed and the bot answers again.
INBOX_IDLE_CLOSE_HOURS = env_int("MADOGUCHI_INBOX_IDLE_CLOSE_HOURS", 72, minimum=1)
# After this many questions in a row the bot could not answer, it hands the resident to a person.
HANDOFF_AFTER_MISSES = env_int("MADOGUCHI_HANDOFF_AFTER_MISSES", 3, minimum=1)
# Said at once when a message holds a crisis word (死にたい, 自殺 ...): where help is, day and night.
MADOGUCHI_CRISIS_TEXT = env_str("MADOGUCHI_CRISIS_TEXT", "") or (
    "あなたの気持ちを聞かせてくれてありがとうございます。ひとりで抱えこまないでください。\n"
    "今すぐ話したいときは、次の電話でも相談できます。\n"
    "・いのちの電話 0120-783-556 (毎日16時〜21時、毎月10日は8時〜翌8時)\n"
    "・こころの健康相談統一ダイヤル 0570-064-556\n"
    "・24時間子供SOSダイヤル 0120-0-78310\n"
    "・命の危険があるときは 119 (救急) / 110 (警察)\n"
    "相談員にもお伝えしました。"
)

# Defect reports (不具合通報). The city as a box: "south,west,north,east" (places outside are
# refused); photo size; description length; what counts as a duplicate (same category, this
# close, this many days apart).
MADOGUCHI_CITY_BOUNDS = env_list("MADOGUCHI_CITY_BOUNDS", ["35.30", "139.20", "35.50", "139.50"])
REPORTS_PHOTO_MAX_BYTES = env_int("MADOGUCHI_REPORTS_PHOTO_MAX_BYTES", 10_000_000, minimum=100_000)
REPORTS_DESCRIPTION_MAX = env_int("MADOGUCHI_REPORTS_DESCRIPTION_MAX", 1000, minimum=50)
REPORTS_DUPLICATE_METERS = env_int("MADOGUCHI_REPORTS_DUPLICATE_METERS", 30, minimum=1)
REPORTS_DUPLICATE_DAYS = env_int("MADOGUCHI_REPORTS_DUPLICATE_DAYS", 14, minimum=1)
# The public page of published reports and their outcomes (/reports/).
REPORTS_PUBLIC_PAGE = env_bool("MADOGUCHI_REPORTS_PUBLIC_PAGE", True)

# Garbage (docs/garbage.md): when the evening-before reminder goes out (local time, HH:MM), and
# how far ahead the public iCalendar feed reaches.
GARBAGE_REMINDER_TIME = env_str("MADOGUCHI_GARBAGE_REMINDER_TIME", "19:00")
if len(GARBAGE_REMINDER_TIME) != 5 or not (
    GARBAGE_REMINDER_TIME[2] == ":"
    and GARBAGE_REMINDER_TIME[:2].isdigit()
    and GARBAGE_REMINDER_TIME[3:].isdigit()
    and int(GARBAGE_REMINDER_TIME[:2]) < 24
    and int(GARBAGE_REMINDER_TIME[3:]) < 60
):
    raise ImproperlyConfigured("MADOGUCHI_GARBAGE_REMINDER_TIME must be HH:MM (24h), e.g. 19:00")
GARBAGE_ICAL_DAYS = env_int("MADOGUCHI_GARBAGE_ICAL_DAYS", 366, minimum=7)

# Open311 GeoReport v2 (/open311/v2/): the one jurisdiction_id this city answers to.
OPEN311_JURISDICTION = env_str("MADOGUCHI_OPEN311_JURISDICTION", "midori.example.jp")

# 粗大ごみ booking: bookings, changes and cancellations close this many days before collection
# (in the city's time, JST); at most this many pieces per booking; days offered this far ahead;
# the reminder goes out from this hour on the day before; the department whose staff manage it
# (its code; empty: any department's staff holding the permission).
BULKY_CUTOFF_DAYS = env_int("MADOGUCHI_BULKY_CUTOFF_DAYS", 3, minimum=0)
BULKY_MAX_ITEMS = env_int("MADOGUCHI_BULKY_MAX_ITEMS", 10, minimum=1)
BULKY_DAYS_AHEAD = env_int("MADOGUCHI_BULKY_DAYS_AHEAD", 60, minimum=7)
BULKY_REMINDER_HOUR = env_int("MADOGUCHI_BULKY_REMINDER_HOUR", 17, minimum=0)
BULKY_DEPARTMENT = env_str("MADOGUCHI_BULKY_DEPARTMENT", "gomi")

# Retention: how long each kind of data is kept before the daily purge removes it
# (core/retention.py lists them all).
RETAIN_INBOUND_EVENTS_DAYS = env_int("MADOGUCHI_RETAIN_INBOUND_EVENTS_DAYS", 90, minimum=1)
RETAIN_OUTBOUND_REQUESTS_DAYS = env_int("MADOGUCHI_RETAIN_OUTBOUND_REQUESTS_DAYS", 90, minimum=1)
# Counseling conversations (encrypted) are erased this long after they were closed.
RETAIN_COUNSELING_DAYS = env_int("MADOGUCHI_RETAIN_COUNSELING_DAYS", 365, minimum=1)
# Other inbox conversations, and the images residents sent in them.
RETAIN_INBOX_DAYS = env_int("MADOGUCHI_RETAIN_INBOX_DAYS", 3 * 365, minimum=1)
# Photos of defect reports, counted from the report's closing (published photos stay).
RETAIN_REPORT_PHOTOS_DAYS = env_int("MADOGUCHI_RETAIN_REPORT_PHOTOS_DAYS", 3 * 365, minimum=1)
# 粗大ごみ bookings keep the name, address and phone this long after the collection day.
RETAIN_BULKY_DAYS = env_int("MADOGUCHI_RETAIN_BULKY_DAYS", 365, minimum=1)
RETAIN_AUDIT_DAYS = env_int("MADOGUCHI_RETAIN_AUDIT_DAYS", 5 * 365, minimum=30)

LOG_LEVEL = env_str("MADOGUCHI_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        "bm25s": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
