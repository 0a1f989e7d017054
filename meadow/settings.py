"""Meadow's one settings module, configured by environment variables only (12-factor).

Two profiles share this file:

* **embedded default** (no variables set): SQLite in WAL mode under ``MEADOW_DATA_DIR``, a disk cache shared by its processes,
  a Celery worker and beat on kombu's SQLAlchemy transport (a second SQLite file), Channels' in-memory layer,
  media in a local folder;
* **scale**: ``DATABASE_URL=postgresql://…`` switches to PostgreSQL (psycopg 3) and ``REDIS_URL=redis://…``
  switches the cache, Celery broker/result backend and the Channels layer to Redis.

Every variable is documented in ``docs/operations.md``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent

MEADOW_ENV = env("MEADOW_ENV", "development").lower()
if MEADOW_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"MEADOW_ENV must be development or production, not {MEADOW_ENV!r}.")
PRODUCTION = MEADOW_ENV == "production"

DATA_DIR = Path(env("MEADOW_DATA_DIR") or (PROJECT_DIR / "var")).resolve()

# --- secrets -------------------------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY")
if PRODUCTION:
    _missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env(name)]
    if _missing:
        raise ImproperlyConfigured(
            "MEADOW_ENV=production needs these environment variables: "
            + ", ".join(_missing)
            + ". See docs/operations.md."
        )
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 50 random characters in production "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
elif not SECRET_KEY:
    # Development only: a fixed, clearly-marked key so sessions survive restarts.
    SECRET_KEY = "django-insecure-meadow-development-key-never-use-in-production"

DEBUG = env_bool("MEADOW_DEBUG", default=not PRODUCTION and MEADOW_ENV != "test")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

# --- apps ----------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "meadow.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "ninja",  # serves Swagger UI's files from our own origin (/api/v1/docs works under the CSP, no CDN)
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.weixin",
    "allauth.socialaccount.providers.facebook",
    "allauth.socialaccount.providers.google",
    "meadow.accounts",
    "meadow.moderation",
    "meadow.enforcement",
    "meadow.notes",
    "meadow.engagement",
    "meadow.notifications",
    "meadow.messaging",
    "meadow.web",
    "meadow.search",
    "meadow.orders",
    "meadow.distribution",
    "meadow.integrity",
    "meadow.business",
    "meadow.store",
    "meadow.privacy",
    "meadow.ads",
    "django_prometheus",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "meadow.core.logs.RequestLogMiddleware",  # times everything, request id on every response
    "meadow.core.outage.OutageMiddleware",  # database down → 503 + Retry-After, not a 500 page
    "django.middleware.security.SecurityMiddleware",
    "meadow.core.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "meadow.urls"
ASGI_APPLICATION = "meadow.asgi.application"
WSGI_APPLICATION = "meadow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "meadow.web.context_processors.shell",
            ],
            "builtins": ["meadow.core.templatetags.money"],
        },
    },
]

# --- database ------------------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'meadow.sqlite3'}"
# Connections: one per request by default. Persistent connections (CONN_MAX_AGE) are per thread, and under ASGI
# each request may run in a new thread, so they pile up until PostgreSQL refuses clients; Django's answer is a
# connection pool (psycopg_pool, MEADOW_DB_POOL_MAX > 0). Celery workers (one thread each) may keep theirs
# with MEADOW_DB_CONN_MAX_AGE.
DB_POOL_MAX = int(env("MEADOW_DB_POOL_MAX", "0"))
_db = dj_database_url.parse(
    DATABASE_URL,
    conn_max_age=0
    if DATABASE_URL.startswith("sqlite") or DB_POOL_MAX
    else int(env("MEADOW_DB_CONN_MAX_AGE", "0")),
)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in ("", ":memory:"):
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # WAL lets readers proceed while one writer writes; IMMEDIATE avoids "database is locked" upgrades.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_HEALTH_CHECKS"] = not DB_POOL_MAX  # a pool checks its connections itself
    # Fail fast while PostgreSQL is down or restarting: a connection attempt gives up after this many seconds
    # and the request answers 503 (meadow.core.outage) instead of hanging.
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", int(env("MEADOW_DB_CONNECT_TIMEOUT", "3")))
    if DB_POOL_MAX:
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DB_POOL_MAX),
            "max_size": DB_POOL_MAX,
            "timeout": float(env("MEADOW_DB_POOL_TIMEOUT", "10")),
        }
else:
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:/// or postgresql:// URL.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, tasks, real-time ----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
REDIS_TIMEOUT = float(env("MEADOW_REDIS_TIMEOUT", "1"))
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "meadow.core.cache.RedisCache",  # one connection pool per process
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("MEADOW_CACHE_PREFIX", "meadow"),
            # a Redis outage costs a request at most this long per cache call, then counts as a miss
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
    # channels_redis keeps every event for one web process's sockets in ONE Redis key ("specific.<process>!"),
    # and its default capacity (100) is per key: a process a second behind at 50 messages/s (a message, the
    # sender's copy and a badge each) silently dropped live deliveries (they came back only on resume). The
    # capacity is per process, so it is sized for seconds of backlog; expiry drops what no socket read in time.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env("MEADOW_CACHE_PREFIX", "meadow") + ":asgi",
                "capacity": int(env("MEADOW_CHANNEL_CAPACITY", "5000")),
                "expiry": int(env("MEADOW_CHANNEL_EXPIRY", "60")),
            },
        }
    }
else:
    # The web process, the worker and beat share one cache (lexicon stamps, the CF model pointer, unread
    # counts, rate limits): diskcache's Django backend, SQLite files under the data directory, with atomic
    # add/incr. A per-process local-memory cache would let each process see only its own changes.
    CACHES = {
        "default": {
            "BACKEND": "diskcache.DjangoCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "TIMEOUT": 300,
            "SHARDS": 4,
            "DATABASE_TIMEOUT": 0.25,
            "OPTIONS": {"size_limit": 2**30},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Background work runs on real Celery worker and beat processes in both profiles (the Procfile; `make run` starts
# them with honcho). The broker: Redis at scale; on the embedded default kombu's SQLAlchemy transport on a SQLite
# file of its own (messages survive a restart; a separate file so queue polling never contends with the app's
# database). MEADOW_TASKS_EAGER=true opts out: tasks then run inline in the web process (after commit).
BROKER_SQLITE_PATH = DATA_DIR / "broker.sqlite3"
# "sqlack": kombu's SQLAlchemy transport made ack-based (meadow.core.broker) — a task a killed worker had taken
# returns to the queue; plain "sqla+" URLs still work but lose that task.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL or f"sqlack+sqlite:///{BROKER_SQLITE_PATH}"
if CELERY_BROKER_URL.startswith(("sqla+sqlite", "sqlack+sqlite")):
    # create_engine() arguments: sqlite3's busy timeout (seconds) so the worker, beat and web wait for a lock.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if CELERY_BROKER_URL.startswith("sqlack+"):
        # a living worker renews the lease of each message it holds every third of this; a lease not renewed
        # for this long (its worker died) returns the message to the queue
        CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = float(
            env("MEADOW_BROKER_VISIBILITY_TIMEOUT", "30")
        )
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # no fanout on this transport: `celery inspect` is Redis-only
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # acks late (below): a task a killed worker had taken stays in Redis' "unacked" set and is given to another
    # worker after the visibility timeout — longer than the longest task (or ETA/countdown), or it would run
    # twice while the first run is still going. Sockets time out so a Redis restart cannot hang a publisher.
    _visibility = int(env("MEADOW_BROKER_VISIBILITY_TIMEOUT", "3600"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        # every worker looks for such abandoned messages this often (kombu's default is ~100 s; a sweep is one
        # cheap ZRANGE), so one returns at most a few seconds after its visibility timeout
        "unacked_restore_interval": max(1, min(10, _visibility // 4)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": REDIS_TIMEOUT,
        "socket_timeout": max(REDIS_TIMEOUT, 2.0),
    }
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUT
# Queuing a task during a broker outage retries for about 1 s (then meadow.core.tasks.enqueue spools the task).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0.1,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Nothing reads task results on the embedded default; at scale they live in Redis for an hour.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("MEADOW_TASKS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The embedded default's worker is one process with 2 threads: one more process instead of three on a small
# machine, SQLite has a single writer anyway, the heavy parts (OCR in onnxruntime, video in ffmpeg, model
# training in numpy) release the GIL, and Ctrl-C stops it cleanly (honcho signals the whole process group, which
# would kill prefork children mid-task). At scale: Celery's prefork pool, one process per core (time limits).
if not REDIS_URL:
    CELERY_WORKER_POOL = env("MEADOW_WORKER_POOL", "threads")
_concurrency = env("MEADOW_WORKER_CONCURRENCY") or ("" if REDIS_URL else "2")
if _concurrency:
    CELERY_WORKER_CONCURRENCY = int(_concurrency)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# MEADOW_BEAT_SCALE multiplies every interval below (tests use e.g. 0.05: a minute becomes 3 s; at least 1 s).
MEADOW_BEAT_SCALE = float(env("MEADOW_BEAT_SCALE", "1"))
if MEADOW_BEAT_SCALE <= 0:
    raise ImproperlyConfigured("MEADOW_BEAT_SCALE must be a positive number.")
_BEAT_JOBS: dict[str, tuple[str, float]] = {
    "core-heartbeat": ("meadow.core.tasks.heartbeat", 60.0),
    "core-broker-prune": ("meadow.core.tasks.broker_prune", 6 * 3600.0),
    "core-spool-resend": ("meadow.core.tasks.spool_resend", 60.0),
    "core-outbox-drain": ("meadow.core.tasks.outbox_drain", 60.0),
    "accounts-purge-expired-codes": ("meadow.accounts.tasks.purge_expired_codes", 3600.0),
    "enforcement-expire-sanctions": ("meadow.enforcement.tasks.expire_sanctions", 900.0),
    "search-purge-old-logs": ("meadow.search.tasks.search_log_purge", 6 * 3600.0),
    "search-refresh-ranks": ("meadow.search.tasks.search_rank_refresh", 300.0),
    "orders-expire-unpaid": ("meadow.orders.tasks.orders_expire_unpaid", 60.0),
    "orders-purge-idempotency": ("meadow.orders.tasks.idempotency_purge", 6 * 3600.0),
    "privacy-purge-exports": ("meadow.privacy.tasks.data_exports_purge", 3600.0),
    "privacy-erase-due-accounts": ("meadow.privacy.tasks.account_deletions_run_due", 3600.0),
    "notes-purge-image-uploads": ("meadow.notes.tasks.image_uploads_purge", 3600.0),
    "distribution-evaluate-pools": ("meadow.distribution.tasks.pools_evaluate_due", 60.0),
    "integrity-scan": (
        "meadow.integrity.tasks.integrity_scan",
        float(env("MEADOW_INTEGRITY_SCAN_SECONDS", "900")),
    ),
    "notes-hashtags-recount": (
        "meadow.notes.tasks.hashtags_recount",
        float(env("MEADOW_HASHTAG_RECOUNT_SECONDS", "600")),
    ),
    "distribution-cf-retrain": (
        "meadow.distribution.tasks.cf_model_retrain",
        float(env("MEADOW_CF_RETRAIN_SECONDS", str(6 * 3600))),
    ),
}
# MEADOW_BEAT_INTERVALS overrides single jobs after scaling: a JSON object of job name → seconds.
try:
    _beat_overrides = {str(k): float(v) for k, v in json.loads(env("MEADOW_BEAT_INTERVALS") or "{}").items()}
except (ValueError, AttributeError, TypeError) as exc:
    raise ImproperlyConfigured("MEADOW_BEAT_INTERVALS must be a JSON object of job name → seconds.") from exc
if set(_beat_overrides) - set(_BEAT_JOBS):
    raise ImproperlyConfigured(
        f"MEADOW_BEAT_INTERVALS names unknown jobs: {sorted(set(_beat_overrides) - set(_BEAT_JOBS))}"
    )
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    name: {"task": task, "schedule": _beat_overrides.get(name, max(1.0, seconds * MEADOW_BEAT_SCALE))}
    for name, (task, seconds) in _BEAT_JOBS.items()
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- auth ----------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "meadow.accounts.backends.LoginBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# django-allauth: e-mail accounts (verification sent, optional by default) and OAuth providers.
ACCOUNT_ADAPTER = "meadow.web.adapters.AccountAdapter"  # accounts.adapters + the sign-in hooks above
SOCIALACCOUNT_ADAPTER = "meadow.accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = "handle"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = env("MEADOW_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SIGNUP_FORM_CLASS = "meadow.accounts.signup_forms.AgreementSignupForm"
SOCIALACCOUNT_AUTO_SIGNUP = False  # everyone sees the agreement before an account exists
SOCIALACCOUNT_FORMS = {"signup": "meadow.accounts.social_forms.SocialAgreementSignupForm"}
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
for _provider, _prefix in (("weixin", "WECHAT"), ("facebook", "FACEBOOK"), ("google", "GOOGLE")):
    _client_id, _secret = env(f"{_prefix}_CLIENT_ID"), env(f"{_prefix}_SECRET")
    if _client_id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = {"APPS": [{"client_id": _client_id, "secret": _secret}]}
    elif _client_id or _secret:
        raise ImproperlyConfigured(f"Set both {_prefix}_CLIENT_ID and {_prefix}_SECRET, or neither.")

# --- Meadow's own knobs -------------------------------------------------------------------------------------
MEADOW_TERMS_VERSION = env("MEADOW_TERMS_VERSION", "2026-11-01")
MEADOW_SMS_BACKEND = env(
    "MEADOW_SMS_BACKEND",
    "meadow.accounts.sms.ConsoleBackend" if not PRODUCTION else "meadow.accounts.sms.MissingBackend",
)
MEADOW_PHONE_DEFAULT_REGION = env("MEADOW_PHONE_DEFAULT_REGION", "MY")
# The penalty ladder (PRODUCT.md §6): JSON replacing the steps of the types it names (defaults and format in
# meadow/enforcement/ladder.py), e.g. {"behaviour": [{"sanction": "warning"}, {"sanction": "posting_ban"}]}
MEADOW_PENALTY_LADDER: dict = json.loads(env("MEADOW_PENALTY_LADDER") or "{}")
# A text refused at save time is not a violation; the LIMIT-th refused attempt within WINDOW_HOURS is (an account
# forcing blocked text through), and counting starts again after it. docs/architecture.md § Enforcement.
MEADOW_BLOCKED_ATTEMPTS_LIMIT = int(env("MEADOW_BLOCKED_ATTEMPTS_LIMIT", "5"))
MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS = int(env("MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS", "24"))
# The outbox drain remembers an id it read past but could not see (a transaction still open) this long, and
# hands it over if it appears meanwhile; after that it is taken for a rolled-back insert (meadow.core.outbox).
MEADOW_OUTBOX_GAP_SECONDS = int(env("MEADOW_OUTBOX_GAP_SECONDS", "600"))
MEADOW_PHONE_CODE_TTL = int(env("MEADOW_PHONE_CODE_TTL", "600"))  # seconds a one-time code lives
MEADOW_PHONE_CODE_MAX_ATTEMPTS = 5
MEADOW_API_TOKEN_DAYS = int(env("MEADOW_API_TOKEN_DAYS", "90"))  # a bearer token works this many days
if MEADOW_API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("MEADOW_API_TOKEN_DAYS must be a whole number of days, at least 1.")
MEADOW_AVATAR_MAX_BYTES = int(env("MEADOW_AVATAR_MAX_BYTES", str(5 * 1024 * 1024)))
MEADOW_IMAGE_MAX_PIXELS = int(env("MEADOW_IMAGE_MAX_PIXELS", str(40_000_000)))
MEADOW_IMAGE_MAX_BYTES = int(env("MEADOW_IMAGE_MAX_BYTES", str(20 * 1024 * 1024)))  # one note image
MEADOW_LICENCE_MAX_BYTES = int(env("MEADOW_LICENCE_MAX_BYTES", str(10 * 1024 * 1024)))  # business licence
MEADOW_VIDEO_MAX_BYTES = int(env("MEADOW_VIDEO_MAX_BYTES", str(500 * 1024 * 1024)))
MEADOW_NSFW_THRESHOLD = float(env("MEADOW_NSFW_THRESHOLD", "0.6"))  # explicit-image score that flags
MEADOW_SCAN_INLINE_OCR_IMAGES = int(
    env("MEADOW_SCAN_INLINE_OCR_IMAGES", "1")
)  # OCR per note when tasks are inline
MEADOW_VIDEO_MAX_SECONDS = int(env("MEADOW_VIDEO_MAX_SECONDS", str(15 * 60)))
# "on" (default, every profile), "off", or a multiplier such as "10" for load tests.
MEADOW_RATE_LIMITS = env("MEADOW_RATE_LIMITS", "on").lower()
MEADOW_SERVE_MEDIA = env_bool("MEADOW_SERVE_MEDIA", default=not PRODUCTION)
# Engagement signal weights (PRODUCT.md §4): a note's signal_score is the weighted sum of its events, and
# distribution reads score per impression. Operator-tunable here; the "CES" formula creators quote weighs a
# share 4 (set "share": 4). "not_interested" is negative feedback.
# Integrity (issue #21, fake engagement): on by default; off = no defence (nothing detected, nothing held).
MEADOW_INTEGRITY_ENABLED = env_bool("MEADOW_INTEGRITY_ENABLED", True)
MEADOW_INTEGRITY_WINDOW_DAYS = float(env("MEADOW_INTEGRITY_WINDOW_DAYS", "30"))  # the activity a scan reads
MEADOW_INTEGRITY_BENEFICIARY_MIN_ACCOUNTS = int(env("MEADOW_INTEGRITY_BENEFICIARY_MIN_ACCOUNTS", "3"))
MEADOW_INTEGRITY_BUYER_ONCE_DAYS = float(env("MEADOW_INTEGRITY_BUYER_ONCE_DAYS", "30"))
# The detectors' thresholds and weights (meadow/integrity/detectors.py Config): a JSON object overriding names.
MEADOW_INTEGRITY: dict = json.loads(env("MEADOW_INTEGRITY") or "{}")

MEADOW_SIGNAL_WEIGHTS: dict[str, float] = {
    "like": 1,
    "save": 1,
    "share": 1,
    "completion": 2,
    "comment": 4,
    "follow": 8,
    "not_interested": -4,
}

# Distribution (docs/operations.md "Distribution"): traffic-pool ladder as JSON [[min, max], …] impressions per
# level, promotion gates, evaluation window, small-deployment scaling; interest learning; feed sizes.
MEADOW_POOL_LADDER: list = json.loads(
    env("MEADOW_POOL_LADDER")
    or "[[200, 500], [3000, 5000], [10000, 20000], [100000, 200000], [1000000, 3000000], [5000000, 10000000]]"
)
MEADOW_POOL_WINDOW_HOURS = float(env("MEADOW_POOL_WINDOW_HOURS", "6"))
MEADOW_POOL_MIN_CTR = float(env("MEADOW_POOL_MIN_CTR", "0.08"))
MEADOW_POOL_MIN_INTERACTION_RATE = float(env("MEADOW_POOL_MIN_INTERACTION_RATE", "0.05"))
MEADOW_POOL_MIN_COMPLETION_RATE = float(env("MEADOW_POOL_MIN_COMPLETION_RATE", "0.45"))
MEADOW_POOL_MIN_SCORE_PER_IMPRESSION = float(env("MEADOW_POOL_MIN_SCORE_PER_IMPRESSION", "0.1"))
MEADOW_POOL_MAX_HOLDS = int(env("MEADOW_POOL_MAX_HOLDS", "2"))
MEADOW_POOL_TOP_SHARE = float(env("MEADOW_POOL_TOP_SHARE", "0.5"))
# An "active reader" joined or logged in within MEADOW_POOL_ACTIVE_DAYS days.
MEADOW_POOL_ACTIVE_DAYS = int(env("MEADOW_POOL_ACTIVE_DAYS", "30"))
MEADOW_POOL_BATCH = int(env("MEADOW_POOL_BATCH", "500"))  # notes evaluated per task run
MEADOW_INTEREST_HALF_LIFE_DAYS = float(env("MEADOW_INTEREST_HALF_LIFE_DAYS", "30"))
MEADOW_INTEREST_PICKED_WEIGHT = float(env("MEADOW_INTEREST_PICKED_WEIGHT", "3"))
# Discover's collaborative-filtering model (meadow.distribution.cf_store): retrained every
# MEADOW_CF_RETRAIN_SECONDS from the engagement events of the last MEADOW_CF_WINDOW_DAYS.
MEADOW_CF_RETRAIN_SECONDS = float(env("MEADOW_CF_RETRAIN_SECONDS", str(6 * 3600)))
MEADOW_CF_WINDOW_DAYS = float(env("MEADOW_CF_WINDOW_DAYS", "180"))
MEADOW_CF_READ_WEIGHT = float(
    env("MEADOW_CF_READ_WEIGHT", "0.5")
)  # what one read adds to a (reader, note) pair
MEADOW_CF_MIN_PAIRS = int(env("MEADOW_CF_MIN_PAIRS", "20"))  # fewer positive pairs: no model is trained
MEADOW_CF_MAX_PAIRS = int(env("MEADOW_CF_MAX_PAIRS", "5000000"))
MEADOW_CF_FACTORS = int(env("MEADOW_CF_FACTORS", "64"))
MEADOW_CF_ITERATIONS = int(env("MEADOW_CF_ITERATIONS", "15"))
MEADOW_CF_THREADS = int(env("MEADOW_CF_THREADS", "1"))  # training threads (0 = all cores)
MEADOW_CF_KEEP = int(env("MEADOW_CF_KEEP", "3"))  # stored model versions kept
MEADOW_CF_RELOAD_SECONDS = float(
    env("MEADOW_CF_RELOAD_SECONDS", "60")
)  # how often a process checks for a new one
MEADOW_FEED_CANDIDATES = int(env("MEADOW_FEED_CANDIDATES", "80"))  # per candidate source
MEADOW_FEED_SESSION_SECONDS = int(env("MEADOW_FEED_SESSION_SECONDS", "1800"))
# The shared part of a feed card (meadow/distribution/cards.py) and the global candidate lists (sources.py).
MEADOW_FEED_CARD_SECONDS = int(env("MEADOW_FEED_CARD_SECONDS", "600"))
MEADOW_FEED_SOURCE_SECONDS = int(env("MEADOW_FEED_SOURCE_SECONDS", "30"))
# Following is precomputed (fan-out on write, distribution/following.py): each reader's newest
# MEADOW_FOLLOWING_CAP note ids, kept only for readers who read it within MEADOW_FOLLOWING_ACTIVE_DAYS (others are
# rebuilt on return). Redis sorted sets when REDIS_URL is set, else two tables; MEADOW_FOLLOWING_STORE=db|redis
# overrides the choice.
MEADOW_FOLLOWING_CAP = int(env("MEADOW_FOLLOWING_CAP", "800"))
MEADOW_FOLLOWING_ACTIVE_DAYS = int(env("MEADOW_FOLLOWING_ACTIVE_DAYS", "14"))
MEADOW_FOLLOWING_STORE = env("MEADOW_FOLLOWING_STORE", "redis" if REDIS_URL else "db")
MEADOW_NEARBY_RADIUS_KM = float(env("MEADOW_NEARBY_RADIUS_KM", "10"))
# relevance search ranks every match at once up to this many (estimated) matches, band by band above
MEADOW_SEARCH_EXHAUSTIVE_MATCHES = int(env("MEADOW_SEARCH_EXHAUSTIVE_MATCHES", "4000"))
# PostgreSQL: rank through the RUM index (`meadow search_rum` creates it). Off by default: at 1,000,000 notes RUM
# 1.3 sorts every match of a query and was slower than the GIN bands (bench/RESULTS.md "GIN against RUM").
MEADOW_SEARCH_RUM = env_bool("MEADOW_SEARCH_RUM", False)

# Orders and payments (docs/operations.md): how long an unpaid order holds its stock, the payment provider, and
# the sandbox provider's webhook signing secret (derived from SECRET_KEY when unset) and replay window.
MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES = int(env("MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES", "15"))
# Messages: a new account (joined less than MEADOW_MESSAGE_NEW_ACCOUNT_DAYS ago, not a verified business) opens at
# most MEADOW_MESSAGE_REQUESTS_PER_DAY message requests a day; a message may be unsent for MEADOW_MESSAGE_UNSEND_SECONDS.
MEADOW_MESSAGE_REQUESTS_PER_DAY = int(env("MEADOW_MESSAGE_REQUESTS_PER_DAY", "10"))
MEADOW_MESSAGE_NEW_ACCOUNT_DAYS = int(env("MEADOW_MESSAGE_NEW_ACCOUNT_DAYS", "30"))
MEADOW_MESSAGE_UNSEND_SECONDS = int(env("MEADOW_MESSAGE_UNSEND_SECONDS", "120"))
# A group conversation has at most MEADOW_MESSAGE_GROUP_MAX people, its creator included (2–50; `meadow check`
# refuses anything else); a message carries at most MEADOW_MESSAGE_IMAGES_MAX images (1–9).
MEADOW_MESSAGE_GROUP_MAX = int(env("MEADOW_MESSAGE_GROUP_MAX", "50"))
MEADOW_MESSAGE_IMAGES_MAX = int(env("MEADOW_MESSAGE_IMAGES_MAX", "4"))
# The most units one buyer may hold reserved in unpaid orders: of one SKU, and in total (stock is a shared good).
MEADOW_UNPAID_MAX_UNITS_PER_SKU = int(env("MEADOW_UNPAID_MAX_UNITS_PER_SKU", "20"))
MEADOW_UNPAID_MAX_UNITS = int(env("MEADOW_UNPAID_MAX_UNITS", "50"))
MEADOW_PAYMENT_GATEWAY = env("MEADOW_PAYMENT_GATEWAY", "meadow.orders.gateway.SandboxGateway")

# Spotlight ads (meadow.ads; docs/operations.md): the auction's reserve price per click (MYR), the 1-based positions
# of a Discover / search page that hold an ad, impressions of one campaign per reader per day, pacing's slack over
# the elapsed day, and how long a served ad's click token stays valid.
MEADOW_ADS_RESERVE_PRICE = env("MEADOW_ADS_RESERVE_PRICE", "0.10")
MEADOW_ADS_DISCOVER_SLOTS = env("MEADOW_ADS_DISCOVER_SLOTS", "6,16,26")
MEADOW_ADS_SEARCH_SLOTS = env("MEADOW_ADS_SEARCH_SLOTS", "3,13,23")
MEADOW_ADS_FREQUENCY_CAP = int(env("MEADOW_ADS_FREQUENCY_CAP", "3"))
MEADOW_ADS_PACING_SLACK = float(env("MEADOW_ADS_PACING_SLACK", "0.05"))
MEADOW_ADS_TOKEN_MAX_AGE_SECONDS = int(env("MEADOW_ADS_TOKEN_MAX_AGE_SECONDS", "86400"))
MEADOW_SANDBOX_WEBHOOK_SECRET = env("MEADOW_SANDBOX_WEBHOOK_SECRET")
MEADOW_SANDBOX_WEBHOOK_TOLERANCE_SECONDS = int(env("MEADOW_SANDBOX_WEBHOOK_TOLERANCE_SECONDS", "300"))

# Web Push (meadow/notifications/push.py, docs/operations.md): the VAPID private key (PEM, or base64url of the raw
# 32 bytes) every host signs pushes with; unset, a key derived from the instance secret under MEADOW_DATA_DIR is
# used (one host). The subject is the contact push services may write to. Subscriptions must be https unless
# MEADOW_PUSH_ALLOW_HTTP (tests' local push service).
MEADOW_VAPID_PRIVATE_KEY = env("MEADOW_VAPID_PRIVATE_KEY")
MEADOW_VAPID_SUBJECT = env("MEADOW_VAPID_SUBJECT", "mailto:push@meadow.invalid")
MEADOW_PUSH_ALLOW_HTTP = env_bool("MEADOW_PUSH_ALLOW_HTTP", default=False)
# The push services a subscription may name (host, or a parent domain of it): the server POSTs to a subscription's
# endpoint, so an arbitrary address would let anyone make it call internal hosts (SSRF). Browsers' services by
# default; comma-separated to change. MEADOW_PUSH_ALLOW_HTTP (the tests' local stand-in) lifts the list.
MEADOW_PUSH_SERVICES = [
    h.strip().lower()
    for h in env(
        "MEADOW_PUSH_SERVICES",
        "fcm.googleapis.com,android.googleapis.com,updates.push.services.mozilla.com,push.apple.com,"
        "notify.windows.com",
    ).split(",")
    if h.strip()
]

# Privacy rights (docs/operations.md): how long a "Download my data" archive may be downloaded, and the grace
# period between "Delete my account" and the erasure (logging in during it cancels the request).
MEADOW_EXPORT_TTL_DAYS = int(env("MEADOW_EXPORT_TTL_DAYS", "7"))
MEADOW_DELETION_GRACE_DAYS = int(env("MEADOW_DELETION_GRACE_DAYS", "14"))
# Prometheus metrics at /metrics (meadow/core/metrics.py): never public. Allowed client addresses or networks
# (comma-separated; loopback by default), and/or a bearer token. PROMETHEUS_MULTIPROC_DIR (read by
# prometheus_client itself) switches to multi-process mode for uvicorn --workers and Celery workers.
MEADOW_METRICS_ALLOW = env("MEADOW_METRICS_ALLOW", "127.0.0.1,::1")
MEADOW_METRICS_TOKEN = env("MEADOW_METRICS_TOKEN")
# A proxy (nginx, Caddy, a load balancer) forwards to this process: /metrics then opens only to the token, since
# the direct peer is the proxy whatever client it relays (docs/operations.md, "Metrics"). On by default in
# production; MEADOW_TRUSTED_PROXY_HEADER being set says so too.
MEADOW_BEHIND_PROXY = env_bool("MEADOW_BEHIND_PROXY", default=PRODUCTION)
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- i18n ----------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English")), ("ms", _("Malay"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_COOKIE_NAME = "meadow_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# --- files ---------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEADOW_MEDIA_ROOT") or (DATA_DIR / "media"))
# Files that must never have a public URL (business licences, the CF models that name users): outside
# MEDIA_ROOT, served only by views that check. STORAGES["private"]; another backend (a private S3 bucket) with
# MEADOW_PRIVATE_STORAGE_BACKEND and its options as JSON in MEADOW_PRIVATE_STORAGE_OPTIONS.
MEADOW_PRIVATE_MEDIA_ROOT = Path(env("MEADOW_PRIVATE_MEDIA_ROOT") or (DATA_DIR / "private"))
STORAGES = {
    # FileSystemStorage that leaves no partial file on a full disk and answers 503 storage_full (core/storage.py)
    "default": {"BACKEND": "meadow.core.storage.MediaStorage"},
    "private": {
        "BACKEND": env("MEADOW_PRIVATE_STORAGE_BACKEND", "meadow.core.storage.PrivateStorage"),
        "OPTIONS": json.loads(env("MEADOW_PRIVATE_STORAGE_OPTIONS") or "{}"),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- mail ----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Meadow <no-reply@meadow.local>")

# --- security ------------------------------------------------------------------------------------------------
# The client address behind a proxy (meadow.core.ratelimit.client_ip): the header is believed only on requests
# from these proxies, and read from the right. Unset when uvicorn's --proxy-headers already resolved it.
MEADOW_TRUSTED_PROXY_HEADER = env("MEADOW_TRUSTED_PROXY_HEADER")
MEADOW_TRUSTED_PROXIES = [
    p.strip() for p in env("MEADOW_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()
]
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it for the X-CSRFToken header
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP to the process
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp 4), the same in every profile: scripts only from our origin or with this
# response's nonce (no 'unsafe-inline', no 'unsafe-eval'), no plugins, no framing, forms post only to us.
# Style attributes stay allowed (style-src-attr): templates carry data-driven aspect ratios and cover colours;
# <style> elements need the nonce. The middleware adds this host's ws:/wss: origin to connect-src and the
# Reporting-Endpoints header. How to extend it: docs/architecture.md, "Content-Security-Policy".
CONTENT_SECURITY_POLICY: dict[str, dict[str, Any]] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "report-uri": ["/csp-report/"],
        "report-to": "csp",
    },
}
_csp_extra = {  # operators may add origins (a CDN for MEDIA_URL, say): MEADOW_CSP_<DIRECTIVE>="origin origin"
    directive: env(f"MEADOW_CSP_{directive.upper().replace('-', '_')}").split()
    for directive in ("img-src", "media-src", "connect-src", "style-src", "font-src", "form-action")
}
for _directive, _origins in _csp_extra.items():
    CONTENT_SECURITY_POLICY["DIRECTIVES"][_directive] += _origins
# A provider's "Continue" page posts to us and we redirect to the provider; browsers hold that redirect to
# form-action, so each provider's login page (and only it) also allows the provider's authorisation origin.
MEADOW_CSP_OAUTH_FORM_ACTION = {
    "google": ["https://accounts.google.com"],
    "facebook": ["https://www.facebook.com"],
    "weixin": ["https://open.weixin.qq.com"],
}

# Structured logs (meadow/core/logs.py): JSON lines in production, readable lines in development; one line per
# request with its request id, which tasks queued by the request carry into their own log lines.
MEADOW_LOG_FORMAT = env("MEADOW_LOG_FORMAT", "json" if PRODUCTION else "console").lower()
if MEADOW_LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured(f"MEADOW_LOG_FORMAT must be json or console, not {MEADOW_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"meadow": {"()": "meadow.core.logs.formatter", "log_format": MEADOW_LOG_FORMAT}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "meadow"}},
    "root": {"handlers": ["console"], "level": env("MEADOW_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        # the request line replaces Django's and uvicorn's own access lines
        "django.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
    },
}

# The learned moderation layer (moderation/engine/learned.py, issue #18). Off by default: on the frozen test split
# it lifts held recall from 0.53 to 0.81 but holds 4.7 % of clean texts for review (the lexicon alone 2.7 %) and a
# check costs milliseconds instead of microseconds (bench/RESULTS.md, "Moderation quality"). Switch it on where
# moderators can absorb the extra review items.
MODERATION_LEARNED = env_bool("MEADOW_MODERATION_LEARNED", default=False)
