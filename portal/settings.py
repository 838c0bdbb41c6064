"""Settings for the district portal.

One module, read from environment variables. With no variables set it runs the embedded
default: SQLite under ./var/, no Redis (Celery uses a filesystem broker under ./var/celery),
DEBUG on. Setting DATABASE_URL switches to the production profile: DEBUG off unless asked
for, a SECRET_KEY is required, and every `check --deploy` setting is on.
"""

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE

from health.smart import keys as _smart_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name, default):
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _json_env(name, default):
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON: {exc}") from None


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not DATABASE_URL

DEBUG = env_bool("DEBUG", EMBEDDED)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "embedded-development-key-not-for-production-use-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute links in e-mail and SMS. Production sets PORTAL_BASE_URL; otherwise it is the
# address the portal is served on: `PORT=8080 make run` serves, and links, on port 8080.
PORT = env_int("PORT", 8000)
PORTAL_BASE_URL = (os.environ.get("PORTAL_BASE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    # The portal's own apps come first so their templates override allauth's and Wagtail's.
    "portal.accounts",
    "portal.components",
    "portal.mypage",
    "portal.notifications",
    "portal.demo",
    "portal.workcalendar",
    "portal.scoping",
    "portal.workflow",
    "portal.cases",
    "portal.cards",
    "health.terminology",
    "health.fhir",
    "health.records",
    "health.booking",
    "health.smart",
    "transit",
    "cms",
    "wagtail.contrib.simple_translation",
    "wagtail.contrib.sitemaps",
    "wagtail.contrib.table_block",
    "wagtail.locales",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "csp",
    "oauth2_provider",  # SMART App Launch (health.smart)
    "corsheaders",  # browser-only SMART apps (health/smart/cors.py)
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # the resident's list of signed-in sessions (account settings)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Browser-only health apps read the FHIR API and the token endpoint (health/smart/cors.py).
    "corsheaders.middleware.CorsMiddleware",
    # Headers every page and API answer gets (portal/security.py); static files are served above.
    "portal.security.ContentSecurityPolicyMiddleware",
    "portal.security.PrivateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.accounts.middleware.AuthenticationMiddleware",
    "portal.accounts.middleware.PreferredLanguageMiddleware",
    "cms.middleware.LanguageParameterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.accounts.middleware.StaffMFAMiddleware",
    "portal.admin_guards.AdminRequestGuardMiddleware",  # tampered admin requests: 400, not 500
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, so a cached public page still passes through every middleware above.
    "cms.page_cache.PublicPageCacheMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.notifications.context_processors.inbox",
            ],
            # Dates per language in sentences and headings: {% load portal_dates %}.
            "libraries": {"portal_dates": "portal.dates"},
        },
    },
]

# Database -----------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {
                # IMMEDIATE transactions and WAL let the web process and the Celery worker
                # write to the same file without "database is locked" errors.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The few queries every request runs (portal/prepared.py) are prepared on the PostgreSQL server;
# off for a connection pooler that cannot keep prepared statements per client.
DATABASE_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)

# Redis must never hold up a request: no call waits longer than REDIS_TIMEOUT_SECONDS, and a
# server that timed out is skipped for REDIS_RETRY_SECONDS (portal/redis_breaker.py) while the
# cache answers from its database table and the outbox sweep delivers what was not queued.
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.5)
REDIS_RETRY_SECONDS = env_float("REDIS_RETRY_SECONDS", 5)

# Cache: Redis in production (degrading to misses while Redis restarts, see portal/cache.py);
# a file cache shared by the embedded web and worker processes.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that does not answer must cost a request a moment, not a minute.
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
            # ... and the calls it does not answer go to PostgreSQL. Sign-in rate limits and
            # used authenticator codes are kept there always, so no Redis outage or restart
            # forgets them.
            "FALLBACK": "database",
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # It always holds the sign-in rate limits and used TOTP codes (portal/cache.py):
            # culling at the default 300 entries would drop lock-outs under a wide attack.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
        # The public page cache (cms/page_cache.py): the same Redis, with no fallback: while
        # Redis is away pages are rendered, not written to the table above.
        "pages": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pages",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        },
    }
    # Sessions stay in the database alone (Django's default), not cached_db: while Redis is
    # away the cache drops deletes, and a signed-out session would come back with Redis.
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        },
        "pages": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "page-cache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        },
    }
# Anonymous views of public pages come from the `pages` cache (cms/page_cache.py) for at most
# this many seconds (purged sooner on every change that affects them); 0 turns it off.
CMS_PAGE_CACHE_SECONDS = env_int("CMS_PAGE_CACHE_SECONDS", 600)
# ... and each process keeps what it served in memory this long (other processes see a purge
# at most this late; 0: every view asks the cache).
CMS_PAGE_CACHE_LOCAL_SECONDS = env_float("CMS_PAGE_CACHE_LOCAL_SECONDS", 1)

# Celery ---------------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Publishing must not hang a web request while the broker is away or frozen: web code
# publishes through portal.celery.publish (REDIS_TIMEOUT_SECONDS, no retries), and the
# outbox sweep delivers what could not be queued.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "notifications-sweep": {
        "task": "portal.notifications.tasks.sweep_outbox",
        "schedule": env_int("NOTIFICATIONS_SWEEP_SECONDS", 60),
    },
    # Clinic booking (health.booking)
    "booking-generate-slots": {
        "task": "health.booking.tasks.generate_slots",
        "schedule": env_int("BOOKING_GENERATE_SECONDS", 60 * 60),
    },
    "booking-send-reminders": {
        "task": "health.booking.tasks.send_reminders",
        "schedule": env_int("BOOKING_REMINDER_SECONDS", 15 * 60),
    },
    # Service cases: due dates follow the calendar (also queued at once on every change).
    "cases-recompute-due-dates": {
        "task": "portal.cases.tasks.recompute_due_dates",
        "schedule": env_int("CASES_RECOMPUTE_SECONDS", 24 * 60 * 60),
    },
    "booking-expire-waitlist-offers": {
        "task": "health.booking.tasks.expire_waitlist_offers",
        "schedule": env_int("BOOKING_OFFER_SWEEP_SECONDS", 5 * 60),
    },
}

# Authentication -------------------------------------------------------------------------------
# Django's and allauth's backends, reading the signed-in user and their staff flag in one query.
AUTHENTICATION_BACKENDS = [
    "portal.accounts.backends.ModelBackend",
    "portal.accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "mypage:index"
LOGOUT_REDIRECT_URL = "/"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_ADAPTER = "portal.accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "portal.accounts.forms.LoginForm"}
ACCOUNT_USER_DISPLAY = "portal.accounts.models.user_display"
ACCOUNT_RATE_LIMITS = {
    # Login throttling: failed attempts per IP and per account, then a lock-out window.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "District Portal")
MFA_ADAPTER = "allauth.mfa.adapter.DefaultMFAAdapter"

# Django's database sessions, read with SQL built once per process
# (portal/accounts/session_store.py).
SESSION_ENGINE = "portal.accounts.session_store"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hant")
LANGUAGES = [
    ("zh-hant", "繁體中文"),
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates as Hong Kong writes them (14/11/2026, 24-hour clock): portal/formats/en.
FORMAT_MODULE_PATH = ["portal.formats"]
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Hong_Kong")
USE_I18N = True
USE_TZ = True
# Public pages are translated with Wagtail localisation (one tree per language; see cms/).
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES

# Static and media ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# E-mail and SMS ------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # filebased backend
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "District Portal <no-reply@district.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = os.environ.get("SMS_BACKEND", "portal.notifications.sms.LogSMSBackend")
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 8)
# A worker claiming a delivery holds it this long; if it dies while sending, the sweep sends
# the delivery again once the lease has expired. Far longer than one send may take.
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 300)
# Notifications of a merging kind about one object within this many seconds become one message.
NOTIFICATIONS_MERGE_SECONDS = env_int("NOTIFICATIONS_MERGE_SECONDS", 300)
# A process asks the workers to deliver at most once per this many seconds: the messages it
# records meanwhile go out together (0: one task per message, at once). Not on the embedded
# profile's file broker, whose worker runs tasks due later in a thread of their own.
NOTIFICATIONS_NUDGE_SECONDS = env_float("NOTIFICATIONS_NUDGE_SECONDS", 1 if REDIS_URL else 0)

# Wagtail --------------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "District Portal"
WAGTAILADMIN_BASE_URL = PORTAL_BASE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_FRONTEND_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
# The back office runs on a government network and calls no outside service: no avatars from
# Gravatar (initials instead), no release check, no "what's new" banner linking out.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_ENABLE_WHATS_NEW_BANNER = False

# Security (on whenever DEBUG is off) ----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp, portal/security.py): only the portal's own origin; an
# inline script or style must carry `nonce="{{ request.csp_nonce }}"`, attributes like
# onclick= and style= are refused. QR codes (two-factor set-up) are data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_NONCE],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}
# The back office (/admin/): Wagtail 8 writes inline scripts and style attributes without a
# nonce, so inline code is allowed there, and nothing from another origin; Wagtail's preview
# frames the admin's own pages; image uploads preview as blob: images.
PORTAL_ADMIN_CSP_DIRECTIVES = {
    **CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "script-src": [CSP_SELF, CSP_UNSAFE_INLINE],
    "style-src": [CSP_SELF, CSP_UNSAFE_INLINE],
    "img-src": [CSP_SELF, "data:", "blob:"],
    "frame-ancestors": [CSP_SELF],
}
# Answers under these paths are never stored by any cache (nor is any answer to a signed-in
# user or to a request with credentials): portal/security.py.
PORTAL_PRIVATE_PATH_PREFIXES = (
    "/admin/",
    "/accounts/",
    "/me/",
    "/inbox/",
    "/health/",
    "/fhir",
    "/api/",
    "/services/cases/",
    "/clinics/appointments/",
    "/clinics/household/",
    "/clinics/waitlist/",
    "/clinics/slot/",
    "/transit/favourites/",
    "/documents/",
)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Client address (portal/accounts/client_ip.py) ---------------------------------------------
# Behind the TLS proxy every request connects from the proxy: sign-in limits per IP must count
# the client's address from the proxy's header instead, or one attacker locks everyone out.
# The header is trusted only when a proxy we run is said to be in front (clients can send it).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", not DEBUG)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0)
TRUSTED_CLIENT_IP_HEADER = os.environ.get("TRUSTED_CLIENT_IP_HEADER", "")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = TRUSTED_CLIENT_IP_HEADER or None

# Download all my data (portal/accounts/exports.py) ------------------------------------------
# Archives are kept outside the web root, for ACCOUNTS_EXPORT_HOURS, then deleted by beat.
ACCOUNTS_EXPORT_ROOT = Path(os.environ.get("ACCOUNTS_EXPORT_ROOT", VAR_DIR / "private" / "exports"))
ACCOUNTS_EXPORT_HOURS = env_int("ACCOUNTS_EXPORT_HOURS", 72)
ACCOUNTS_EXPORT_STALE_MINUTES = env_int("ACCOUNTS_EXPORT_STALE_MINUTES", 30)
CELERY_BEAT_SCHEDULE["accounts-clean-data-exports"] = {
    "task": "portal.accounts.tasks.clean_data_exports",
    "schedule": env_int("ACCOUNTS_EXPORT_SWEEP_SECONDS", 15 * 60),
}
# Expired sessions are deleted once an hour (Django leaves that to `clearsessions`).
CELERY_BEAT_SCHEDULE["accounts-clear-expired-sessions"] = {
    "task": "portal.accounts.tasks.clear_expired_sessions",
    "schedule": 60 * 60,
}

# Portal ---------------------------------------------------------------------------------------
PORTAL_NAME = _("District Portal")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Wagtail's inline tasks log every run at INFO; only problems are worth a line.
        "django_tasks": {"level": "WARNING"},
    },
}

# Clinic booking
BOOKING_MAX_UPCOMING = env_int("BOOKING_MAX_UPCOMING", 4)  # per person (resident or dependant)
BOOKING_HORIZON_DAYS = env_int("BOOKING_HORIZON_DAYS", 56)  # bookable up to this many days ahead
BOOKING_GENERATE_WEEKS = env_int("BOOKING_GENERATE_WEEKS", 8)  # slots generated this far ahead
BOOKING_WAITLIST_OFFER_HOURS = env_int("BOOKING_WAITLIST_OFFER_HOURS", 12)  # time to accept
BOOKING_REMINDER_TIME = os.environ.get("BOOKING_REMINDER_TIME", "18:00")  # local, the day before

# Health records (health.fhir, health.records)
FHIR_BASE_URL = os.environ.get("FHIR_BASE_URL", "")  # empty: taken from each request
FHIR_DEFAULT_COUNT = env_int("FHIR_DEFAULT_COUNT", 50)
FHIR_MAX_COUNT = env_int("FHIR_MAX_COUNT", 1000)
FHIR_EVERYTHING_COUNT = env_int("FHIR_EVERYTHING_COUNT", 1000)
FHIR_EVERYTHING_MAX_COUNT = env_int("FHIR_EVERYTHING_MAX_COUNT", 10_000)
FHIR_MAX_BUNDLE_ENTRIES = env_int("FHIR_MAX_BUNDLE_ENTRIES", 50_000)
FHIR_MAX_BODY_SIZE = env_int("FHIR_MAX_BODY_SIZE", 200 * 1024 * 1024)  # read as a stream
# Budgets that bound a worker's memory and time whatever a client asks (health/fhir/README.md).
FHIR_MAX_PAGE_BYTES = env_int("FHIR_MAX_PAGE_BYTES", 32 * 1024 * 1024)
FHIR_MAX_INCLUDES = env_int("FHIR_MAX_INCLUDES", 1000)
FHIR_BUNDLE_MAX_RESPONSE_BYTES = env_int("FHIR_BUNDLE_MAX_RESPONSE_BYTES", 64 * 1024 * 1024)
FHIR_BUNDLE_MAX_SECONDS = env_int("FHIR_BUNDLE_MAX_SECONDS", 30)
FHIR_BUNDLE_ENTRY_COUNT = env_int("FHIR_BUNDLE_ENTRY_COUNT", 100)
# Other base URLs this server answers under (absolute references to them are local).
FHIR_LOCAL_BASE_URLS = [u for u in os.environ.get("FHIR_LOCAL_BASE_URLS", "").split() if u]
# Residents' own health apps (health.smart): SMART App Launch on django-oauth-toolkit.
# Authorisation code with PKCE (S256 only), consent asked every time, read-only patient/
# scopes; refresh tokens only with offline_access. The OpenID Connect signing key (id_token
# with fhirUser) comes from SMART_OIDC_PRIVATE_KEY, else a file kept beside the database.
# Our models point at the toolkit's Application; naming it here lets migrations refer to it.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
SMART_ACCESS_TOKEN_SECONDS = env_int("SMART_ACCESS_TOKEN_SECONDS", 3600)
SMART_REFRESH_TOKEN_DAYS = env_int("SMART_REFRESH_TOKEN_DAYS", 90)
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207: the redirect names the issuer
    "REQUEST_APPROVAL_PROMPT": "force",
    "ACCESS_TOKEN_EXPIRE_SECONDS": SMART_ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": SMART_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": SMART_REFRESH_TOKEN_DAYS * 86400,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEBUG else ["https"],
    "SCOPES_BACKEND_CLASS": "health.smart.scopes.SmartScopes",
    "OAUTH2_VALIDATOR_CLASS": "health.smart.validator.SmartValidator",
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _smart_keys.private_key(
        os.environ.get("SMART_OIDC_PRIVATE_KEY", ""),
        Path(os.environ.get("SMART_OIDC_KEY_FILE", VAR_DIR / "smart-oidc-key.pem")),
    ),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
}
# CORS (django-cors-headers) only where health/smart/cors.py allows it: discovery for anyone,
# the token endpoint and the FHIR API for registered apps' origins, never with credentials.
CORS_URLS_REGEX = r"^(?!)"  # no path by pattern: the check_request_enabled signal decides
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "POST", "OPTIONS"]  # apps read (search by POST included)
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "if-none-match", "prefer"]
CORS_EXPOSE_HEADERS = ["content-location", "etag", "last-modified", "location"]

RECORDS_ACTIVATION_CODE_DAYS = env_int("RECORDS_ACTIVATION_CODE_DAYS", 14)
RECORDS_ACTIVATION_CODE_ATTEMPTS = env_int("RECORDS_ACTIVATION_CODE_ATTEMPTS", 5)
RECORDS_LINK_ATTEMPTS_PER_HOUR = env_int("RECORDS_LINK_ATTEMPTS_PER_HOUR", 10)
RECORDS_CHART_POINTS = env_int("RECORDS_CHART_POINTS", 120)
RECORDS_SECTION_LIMIT = env_int("RECORDS_SECTION_LIMIT", 200)  # entries per record section page
RECORDS_VISITS_LIMIT = env_int("RECORDS_VISITS_LIMIT", 500)
# Hours a break-glass opening of a record its clinics do not know stays open (docs/architecture.md).
RECORDS_EMERGENCY_ACCESS_HOURS = env_int("RECORDS_EMERGENCY_ACCESS_HOURS", 12)

# My page keeps panel fragments per resident in the cache (portal/mypage/panels.py); off to
# render every panel on every visit.
MYPAGE_CACHE_PANELS = env_bool("MYPAGE_CACHE_PANELS", True)

# Business calendar (portal.workcalendar): seeded from the `holidays` package for mainland
# China (CN), Hong Kong (HK) or Taiwan (TW); weekly rest days as weekday numbers (Monday 0).
WORKCALENDAR_REGION = os.environ.get("WORKCALENDAR_REGION", "HK")
WORKCALENDAR_WEEKEND_DAYS = [int(d) for d in env_list("WORKCALENDAR_WEEKEND_DAYS", ["5", "6"])]

# Service cases (portal.cases): uploads live outside the web root and are served by views that
# check who asks; at risk once this share of the promised time is used.
CASES_FILES_ROOT = Path(os.environ.get("CASES_FILES_ROOT", VAR_DIR / "case-files"))
CASES_UPLOAD_MAX_BYTES = env_int("CASES_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
CASES_AT_RISK_SHARE = float(os.environ.get("CASES_AT_RISK_SHARE", "0.8"))

# Social security cards (portal.cards): photos live outside the web root, served by views that
# check who asks; a photo's limits in bytes and pixels; days a ready card waits for collection.
CARDS_FILES_ROOT = Path(os.environ.get("CARDS_FILES_ROOT", VAR_DIR / "card-files"))
CARDS_PHOTO_MAX_BYTES = env_int("CARDS_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
CARDS_PHOTO_MIN_WIDTH = env_int("CARDS_PHOTO_MIN_WIDTH", 400)
CARDS_PHOTO_MIN_HEIGHT = env_int("CARDS_PHOTO_MIN_HEIGHT", 500)
CARDS_PHOTO_MAX_WIDTH = env_int("CARDS_PHOTO_MAX_WIDTH", 4000)
CARDS_PHOTO_MAX_HEIGHT = env_int("CARDS_PHOTO_MAX_HEIGHT", 5000)
CARDS_COLLECT_DAYS = env_int("CARDS_COLLECT_DAYS", 60)

# Transit (transit/) -----------------------------------------------------------------------------
# Realtime feeds per static feed code, as JSON, e.g.
# {"district": {"trip_updates": "https://…/tripupdates.pb", "alerts": "https://…/alerts.pb"}};
# a feed not named here uses the URLs stored on it (the demo stores its local files there).
TRANSIT_REALTIME_FEEDS = _json_env("TRANSIT_REALTIME_FEEDS", {})
TRANSIT_REALTIME_POLL_SECONDS = env_int("TRANSIT_REALTIME_POLL_SECONDS", 30)
TRANSIT_REALTIME_TIMEOUT_SECONDS = env_int("TRANSIT_REALTIME_TIMEOUT_SECONDS", 10)
TRANSIT_REALTIME_MAX_BYTES = env_int("TRANSIT_REALTIME_MAX_BYTES", 32 * 1024 * 1024)
# Older predictions fall back to the timetable (GTFS-realtime best practices: 90 s, 10 min).
TRANSIT_TRIP_UPDATES_STALE_SECONDS = env_int("TRANSIT_TRIP_UPDATES_STALE_SECONDS", 90)
TRANSIT_ALERTS_STALE_SECONDS = env_int("TRANSIT_ALERTS_STALE_SECONDS", 10 * 60)
TRANSIT_FAVOURITE_STOPS_LIMIT = env_int("TRANSIT_FAVOURITE_STOPS_LIMIT", 8)
TRANSIT_DEPARTURES_WINDOW_MINUTES = env_int("TRANSIT_DEPARTURES_WINDOW_MINUTES", 120)
TRANSIT_IMPORT_MAX_BAD_FRACTION = float(os.environ.get("TRANSIT_IMPORT_MAX_BAD_FRACTION", "0.01"))
TRANSIT_KEEP_OLD_VERSIONS = env_int("TRANSIT_KEEP_OLD_VERSIONS", 1)
# stop_times.txt through pyarrow ("arrow") or the csv module ("csv"): see docs/benchmarks.md.
TRANSIT_IMPORT_READER = os.environ.get("TRANSIT_IMPORT_READER", "arrow")
# The demo's stand-in producer rewrites its local realtime files before each poll.
TRANSIT_DEMO_PRODUCER = env_bool("TRANSIT_DEMO_PRODUCER", EMBEDDED and DEBUG)
# Public site (cms/): scheduled publishing and expiry, every minute.
CELERY_BEAT_SCHEDULE["cms-publish-scheduled"] = {
    "task": "cms.tasks.publish_scheduled",
    "schedule": env_int("CMS_PUBLISH_SCHEDULED_SECONDS", 60),
}
CELERY_BEAT_SCHEDULE["transit-poll-realtime"] = {
    "task": "transit.tasks.poll_realtime",
    "schedule": TRANSIT_REALTIME_POLL_SECONDS,
}
