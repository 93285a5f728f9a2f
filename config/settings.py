"""Keystore settings, read from the environment.

KEYSTORE_ENV selects the mode: ``development`` (default: SQLite, in-process tasks, local
outbox, test payment gateway, generated local secrets), ``production`` (every secret from
the environment, hardened cookies and HTTPS), ``staging`` (production hardening, and the
test gateway when ``PAYMENT_GATEWAY=test`` is set, with a banner on every page), or
``test`` (fixed test secrets). Production and staging refuse to start on an unsafe
configuration: see core/checks.py.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str, load_secrets

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KEYSTORE_VAR_DIR", str(BASE_DIR / "var")))

KEYSTORE_ENV = env_str("KEYSTORE_ENV", "development")
# --- prodcfg: staging gets every production hardening (PRODUCTION is "hardened") ---
PRODUCTION = KEYSTORE_ENV in ("production", "staging")
STAGING = KEYSTORE_ENV == "staging"
TESTING = KEYSTORE_ENV == "test"

TEST_SECRETS = {
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz",
    "KEY_ENCRYPTION_KEYS": "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
    "KEY_FINGERPRINT_SECRET": "test-fingerprint-secret",
}
# The image collects its static files in production mode at build time, before any
# secret exists: KEYSTORE_BUILD_STATIC=1 lends throwaway secrets to `collectstatic` and
# to nothing else (any other command, gunicorn or a worker refuses to start with it).
BUILD_STATIC = env_bool("KEYSTORE_BUILD_STATIC")
if BUILD_STATIC and sys.argv[1:2] != ["collectstatic"]:
    raise ImproperlyConfigured(
        "KEYSTORE_BUILD_STATIC is only for `manage.py collectstatic` while building the "
        "image; remove it from the runtime environment."
    )
_secrets = load_secrets(
    production=PRODUCTION and not BUILD_STATIC,
    var_dir=VAR_DIR,
    fixed=TEST_SECRETS if TESTING or BUILD_STATIC else None,
)

SECRET_KEY = _secrets["SECRET_KEY"]
# Fernet keys for key codes at rest, newest first (MultiFernet): rotate by prepending.
KEY_ENCRYPTION_KEYS = [k.strip() for k in _secrets["KEY_ENCRYPTION_KEYS"].split(",") if k.strip()]
# HMAC secret for code fingerprints (duplicate detection); never rotated casually.
KEY_FINGERPRINT_SECRET = _secrets["KEY_FINGERPRINT_SECRET"]

DEBUG = env_bool("DEBUG", default=not PRODUCTION and not TESTING)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "modeltranslation",  # before admin: catalog content per language (catalog/translation.py)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "catalog",  # app label "storefront" (its tables, migrations and permissions)
    "accounts",
    "keys",
    "pricing",
    "orders",
    "refunds",
    "invoices",
    "policies",
    "webhooks",
    "api",
    "web",  # pages composed from several apps; after catalog (its admin re-registers Product)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
# --- prodcfg: Content-Security-Policy (django-csp) ---
INSTALLED_APPS += ["csp"]

MIDDLEWARE = [
    "core.observability.RequestIdMiddleware",  # prodcfg: a request id on every log line
    "core.identity.ShopIdentityPerRequestMiddleware",  # the identity read once a request
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # prodcfg
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "web.middleware.LanguageFromQueryMiddleware",  # seo: ?lang= addresses
    "core.shop_clock.StoreTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.shop",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'keystore.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout so the dev server and in-process tasks don't trip over locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Connections run out before queries do as web threads and worker processes multiply
    # (README, "Scaling"). Either Django's own psycopg pool per process ...
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
    if DB_POOL_MAX_SIZE:
        if env_int("DB_CONN_MAX_AGE", 0):
            raise ImproperlyConfigured(
                "DB_POOL_MAX_SIZE and DB_CONN_MAX_AGE exclude each other: a pooled connection "
                "goes back to the pool after each request. Unset DB_CONN_MAX_AGE."
            )
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 1),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_int("DB_POOL_TIMEOUT", 10),  # seconds a request waits for one
        }
    # ... or PgBouncer in transaction mode in front of PostgreSQL: a server-side cursor
    # (QuerySet.iterator()) would outlive the transaction its server connection serves.
    if env_bool("DB_PGBOUNCER"):
        if DB_POOL_MAX_SIZE:
            raise ImproperlyConfigured(
                "Use DB_PGBOUNCER or DB_POOL_MAX_SIZE, not both: PgBouncer already pools."
            )
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",  # Django's, with its redis client reused
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "keystore"),
        }
    }
    # Sessions are read from the shared cache (one Redis GET, no query and no signature
    # check of the stored data) and written through to the database, which stays the
    # record: a session evicted from Redis is read from its row again. Only with a cache
    # every process shares: a per-process cache would serve a session another process
    # has changed since.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGIN_URL = "account_login"

# django-allauth: email is the login; verified emails link guest orders to the account.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Tell customers when their password or email address changes (allauth's notification
# emails, in the shop's design and their language: accounts/emails.py).
ACCOUNT_EMAIL_NOTIFICATIONS = True
# allauth's absolute links use the scheme the shop is served at (accounts.adapter moves
# them onto SITE_URL), so account emails and order emails agree.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(SITE_URL).scheme or ("https" if PRODUCTION else "http")
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# allauth's rate limits are on by default; spelled out so they are visible and tunable.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Accept the code of the previous or next 30-second step too (RFC 6238 section 5.2: one
# step for network delay and clock drift); a code typed as the step turns still works.
MFA_TOTP_TOLERANCE = 1
MFA_ADAPTER = "accounts.adapter.MFAAdapter"  # the TOTP issuer is the shop identity's name

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per page in every language (day month year, 24-hour clock).
FORMAT_MODULE_PATH = ["config.formats"]
# Catalog content per language: English is the source every other language falls back to;
# a row created in another language also fills the English column.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
MODELTRANSLATION_AUTO_POPULATE = "default"

TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# WhiteNoise serves static files in every mode (no CDN); outside production it reads the
# source folders directly so nothing needs collecting first.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
# Private uploads (claim evidence) live outside any public URL and are served by views
# that check ownership.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
# --- prodcfg: the private storage (core.storage) ---
# Local disk under PRIVATE_MEDIA_ROOT, or an S3-compatible bucket (AWS, MinIO, Ceph, R2...)
# shared by every web host when PRIVATE_STORAGE_S3_BUCKET is set. Never a public URL.
PRIVATE_STORAGE_S3_BUCKET = env_str("PRIVATE_STORAGE_S3_BUCKET")
PRIVATE_STORAGE_S3_SECRET_ACCESS_KEY = env_str("PRIVATE_STORAGE_S3_SECRET_ACCESS_KEY")
if PRIVATE_STORAGE_S3_BUCKET:
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PRIVATE_STORAGE_S3_BUCKET,
            "endpoint_url": env_str("PRIVATE_STORAGE_S3_ENDPOINT_URL"),
            "region_name": env_str("PRIVATE_STORAGE_S3_REGION"),
            "access_key": env_str("PRIVATE_STORAGE_S3_ACCESS_KEY_ID"),
            "secret_key": PRIVATE_STORAGE_S3_SECRET_ACCESS_KEY,
            "location": env_str("PRIVATE_STORAGE_S3_PREFIX", "private"),
            "addressing_style": env_str("PRIVATE_STORAGE_S3_ADDRESSING_STYLE"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["private"] = {"BACKEND": "core.storage.PrivateFileSystemStorage"}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# Email: SMTP when EMAIL_HOST is set, else a local outbox of .eml files under var/outbox.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Keystore <orders@keystore.localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
STAFF_ALERT_EMAILS = env_list("STAFF_ALERT_EMAILS", default=["staff@keystore.localhost"])
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox"

# Celery: a real broker when REDIS_URL is set; otherwise tasks run in-process.
_broker = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not _broker
# In-process mode still names a (never used) in-memory transport, so kombu stays quiet.
CELERY_BROKER_URL = _broker or "memory://"
CELERY_RESULT_BACKEND = None
# No task result is ever read (no backend): the worker skips storing and tracking them.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than any countdown or ETA we schedule, so Redis never re-delivers early.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 6 * 3600}
CELERY_TIMEZONE = "UTC"
# --- prodcfg: `make run` (scripts/run_dev.py) runs a real worker and beat without any
# service, on kombu's filesystem transport: messages are files under var/celery-broker ---
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Beat must stay single: with Redis, each beat sends only while it holds a lock there
# (config/beat.py), so a second beat on another host is a standby, not a duplicate.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BEAT_SCHEDULER = "config.beat:LockedScheduler"
BEAT_LOCK_SECONDS = 60
CELERY_BEAT_SCHEDULE: dict = {}  # each app registers its periodic tasks in config.celery

# Payments: Stripe when a secret key is configured, else the local test gateway.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # a local stand-in in tests
# --- prodcfg: production/staging default to Stripe; core.checks refuses a missing key, and
# the test gateway except in staging when PAYMENT_GATEWAY=test is set explicitly ---
PAYMENT_GATEWAY_EXPLICIT = env_str("PAYMENT_GATEWAY") is not None
PAYMENT_GATEWAY = env_str(
    "PAYMENT_GATEWAY", "stripe" if STRIPE_SECRET_KEY or PRODUCTION else "test"
)

SHOP_NAME = env_str("SHOP_NAME", "Keystore")
SHOP_CURRENCY = env_str("SHOP_CURRENCY", "EUR")
SHOP_SUPPORT_EMAIL = env_str("SHOP_SUPPORT_EMAIL", "support@keystore.localhost")
SHOP_SUPPORT_PHONE = env_str("SHOP_SUPPORT_PHONE", "")
CART_MAX_QUANTITY_PER_LINE = env_int("CART_MAX_QUANTITY_PER_LINE", 10)
CART_MAX_LINES = env_int("CART_MAX_LINES", 20)
# Seconds a rendered catalog grid is reused (0 = render every time).
CATALOG_GRID_CACHE_SECONDS = env_int("CATALOG_GRID_CACHE_SECONDS", 10)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(timedelta(days=14).total_seconds())
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The reverse proxies in front of the shop (core.http.client_ip_get): how many, and/or
# which addresses. Forwarded headers are believed only when a proxy is declared.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
if TRUSTED_PROXY_COUNT or TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    LANGUAGE_COOKIE_SECURE = True

# --- prodcfg: logging, Sentry, Content-Security-Policy ---
# One line per record on stdout: JSON in production and staging (LOG_FORMAT=plain to
# change), with the request id (core.observability.RequestIdMiddleware); every record is
# scrubbed of key codes, ciphertexts and secrets on its way out (RedactingFilter).
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.observability.RequestIdFilter"},
        "redact": {"()": "core.observability.RedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# The worker logs through the same handler (JSON, scrubbed) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Sentry when SENTRY_DSN is set: no personal data, and every event scrubbed like the logs.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk

    from core.observability import sentry_event_scrub

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", KEYSTORE_ENV),
        release=env_str("SENTRY_RELEASE"),
        # send_default_pii=False, in the words of this sentry-sdk (which deprecates that
        # flag): no user identity, IP, cookies or request bodies, and no frame variables.
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        before_send=sentry_event_scrub,
        before_send_transaction=sentry_event_scrub,
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# Every asset is self-hosted: nothing inline, nothing from elsewhere. Evidence images
# carry their own stricter policy (refunds.views.evidence_view).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- api: the merchant REST API (api/, Django REST Framework + drf-spectacular) ---
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 120)  # requests per key per window
API_RATE_WINDOW_SECONDS = env_int("API_RATE_WINDOW_SECONDS", 60)
API_IMPORT_INLINE_MAX = env_int("API_IMPORT_INLINE_MAX", 500)  # more lines run as a job
API_IMPORT_MAX_LINES = env_int("API_IMPORT_MAX_LINES", 50_000)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 8 * 1024 * 1024)  # larger: 413
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.HasScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Keystore merchant API",
    "DESCRIPTION": (
        "Stock, key imports, orders and claims for the merchant's own systems. Send "
        "`Authorization: Bearer <key>` (`manage.py create_api_key`). Lists are paginated "
        "(`page`, 50 a page), filtered by the documented query parameters and ordered by "
        "`ordering` (prefix `-` for descending). Every error is "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "RefundStatusEnum": "orders.models.RefundStatus",
        "ClaimStatusEnum": "refunds.models.ClaimStatus",
        "ImportJobStatusEnum": "api.models.ImportJobStatus",
    },
}
