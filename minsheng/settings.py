"""Settings for the Minsheng platform: one module, fed by typed environment variables.

Server settings live here; organisational policy (deadlines, routing rules, thresholds, KPI weights)
lives in the database where admins edit it. ``.env.example`` lists every variable.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from minsheng.core.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MINSHENG_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# The development key only works with DEBUG or the embedded database; production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-minsheng-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "minsheng.core",
    "minsheng.divisions",
    "minsheng.units",
    "minsheng.accounts",
    "minsheng.categories",
    "minsheng.appeals",
    "minsheng.cases",
    "minsheng.routing",
    "minsheng.intake",
    "minsheng.servicerecords",
    "minsheng.public",
    "minsheng.open311",
    "minsheng.sms",
    "minsheng.followup",
    "minsheng.classification",
    "minsheng.dedup",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it locks out repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair: a stranger cannot lock a user out
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_RESET_ON_SUCCESS = True

ROOT_URLCONF = "minsheng.urls"
WSGI_APPLICATION = "minsheng.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "minsheng" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minsheng.core.context_processors.platform",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'minsheng.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes; the busy timeout turns brief
    # write contention between web, worker and scheduler into a wait instead of an error.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("TEST", {})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workbench"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "minsheng" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# WhiteNoise serves every asset from the app itself: the police network has no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "minsheng.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "民生警务平台 API",
    "DESCRIPTION": "Appeals, cases and their actions. Errors carry a stable `code`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The chief's mailbox by e-mail (局长信箱), polled every minute; an empty IMAP_HOST switches it off.
IMAP = {
    "HOST": env_str("IMAP_HOST", ""),
    "PORT": env_int("IMAP_PORT", 993),
    "USER": env_str("IMAP_USER", ""),
    "PASSWORD": env_str("IMAP_PASSWORD", ""),  # IMAP_PASSWORD_FILE wins (env_str reads NAME_FILE)
    "FOLDER": env_str("IMAP_FOLDER", "INBOX"),
    "SSL": env_bool("IMAP_SSL", True),
    "STARTTLS": env_bool("IMAP_STARTTLS", False),  # used only when IMAP_SSL=0
}

# Platform defaults that must exist before an admin has touched the policy table.
MINSHENG = {
    # Working hours used for deadlines counted in hours (签收时限).
    "WORK_PERIODS": [("09:00", "12:00"), ("13:00", "17:00")],
    "ACCEPT_HOURS": env_int("MINSHENG_ACCEPT_HOURS", 2),
    # A case counts as 即将超期 when less than this many working hours remain.
    "DUE_SOON_HOURS": env_int("MINSHENG_DUE_SOON_HOURS", 4),
    "REHANDLE_DAYS": env_int("MINSHENG_REHANDLE_DAYS", 3),
}

# SMS (一线回访). SMS_BACKEND: "simulator" (the demo: the phone simulator page shows what citizens
# receive), "log" (development) or "kannel" (production, the KANNEL_* settings below).
SMS_BACKEND = env_str("SMS_BACKEND", "simulator")
if SMS_BACKEND not in ("simulator", "log", "kannel"):
    raise ImproperlyConfigured(f"SMS_BACKEND={SMS_BACKEND!r}: use simulator, log or kannel")
# The phone simulator page (staff answer as the citizen): on only where no real citizen is reached.
SMS_SIMULATOR = env_bool("SMS_SIMULATOR", SMS_BACKEND == "simulator")
KANNEL_SENDSMS_URL = env_str("KANNEL_SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms")
KANNEL_USERNAME = env_str("KANNEL_USERNAME", "minsheng")
KANNEL_PASSWORD = env_str("KANNEL_PASSWORD", "")  # KANNEL_PASSWORD_FILE wins
KANNEL_FROM = env_str("KANNEL_FROM", "106573100110")  # the platform's SMS number (短信服务号)
# Shared with Kannel: the MO get-url carries it as k=…; delivery reports are signed with it per message.
KANNEL_CALLBACK_SECRET = env_str("KANNEL_CALLBACK_SECRET", "")  # KANNEL_CALLBACK_SECRET_FILE wins
KANNEL_ALLOWED_IPS = env_list("KANNEL_ALLOWED_IPS", ["127.0.0.1", "::1"])
# How Kannel reaches this app for delivery reports (empty: no dlr-url is sent, no delivery reports).
KANNEL_CALLBACK_URL = env_str("KANNEL_CALLBACK_URL", "")
# bearerbox's admin interface: asked (store-status) to resolve a send whose outcome is in doubt.
KANNEL_ADMIN_URL = env_str("KANNEL_ADMIN_URL", "")
KANNEL_ADMIN_PASSWORD = env_str("KANNEL_ADMIN_PASSWORD", "")  # KANNEL_ADMIN_PASSWORD_FILE wins
# 31 = delivered, undelivered, buffered, SMSC accepted (8), SMSC rejected (16). 8 and 16 come from
# bearerbox itself, so every message Kannel accepted produces a report: recovery relies on that.
KANNEL_DLR_MASK = env_int("KANNEL_DLR_MASK", 31)
KANNEL_TIMEOUT_S = env_int("KANNEL_TIMEOUT_S", 10)

# Defaults of the SMS policy; admins override the first six in 业务参数 (keys in sms/policy.py).
SMS = {
    "QUIET_HOURS": [env_str("SMS_QUIET_START", "21:00"), env_str("SMS_QUIET_END", "08:00")],
    "RATE_PER_S": env_int("SMS_RATE_PER_S", 50),
    "PER_NUMBER_PER_HOUR": env_int("SMS_PER_NUMBER_PER_HOUR", 3),
    "PER_NUMBER_PER_DAY": env_int("SMS_PER_NUMBER_PER_DAY", 10),
    "FOLLOWUP_REPLY_HOURS": env_int("FOLLOWUP_REPLY_HOURS", 48),
    "FOLLOWUP_CALL_ATTEMPTS": env_int("FOLLOWUP_CALL_ATTEMPTS", 3),
    # The sender's mechanics (server settings, not policy).
    "BATCH": env_int("SMS_BATCH", 100),
    "MAX_ATTEMPTS": env_int("SMS_MAX_ATTEMPTS", 6),
    "RETRY_BASE_S": env_int("SMS_RETRY_BASE_S", 30),
    "RETRY_MAX_S": env_int("SMS_RETRY_MAX_S", 3600),
    "GATEWAY_BACKOFF_S": env_int("SMS_GATEWAY_BACKOFF_S", 5),
    "GATEWAY_BACKOFF_MAX_S": env_int("SMS_GATEWAY_BACKOFF_MAX_S", 300),
    "LEASE_S": env_int("SMS_LEASE_S", 60),
    "INDOUBT_GRACE_S": env_int("SMS_INDOUBT_GRACE_S", 30),
    "RECOVER_EVERY_S": env_int("SMS_RECOVER_EVERY_S", 5),
    "MAX_AGE_H": env_int("SMS_MAX_AGE_H", 72),
}
FOLLOWUP = {
    # Service records older than this get no survey (an import of old records sends nothing).
    "SERVICE_SURVEY_MAX_AGE_H": env_int("FOLLOWUP_SERVICE_SURVEY_MAX_AGE_H", 72),
}

# Duplicate detection at intake (自动比对). Scores are in [0, 1]: ≥ link → 关联件 (or 重复诉求 when
# the case is already answered); ≥ suggest → a possible duplicate shown to a person; else a new case.
# Windows are the defaults; a category's own (系统管理 → 诉求类别) wins.
DEDUP = {
    "link_threshold": env_int("DEDUP_LINK_PERCENT", 75) / 100,
    "suggest_threshold": env_int("DEDUP_SUGGEST_PERCENT", 50) / 100,
    "person_days": env_int("DEDUP_PERSON_DAYS", 30),
    "event_days": env_int("DEDUP_EVENT_DAYS", 7),
}
# Where the index snapshot lives (written by the worker every few minutes and by `minsheng dedup rebuild`).
DEDUP_INDEX_DIR = env_str("DEDUP_INDEX_DIR", str(VAR_DIR / "dedup"))

# The appeal classifier the platform uses (一站直办): the file `minsheng classify train` or
# `minsheng classify retrain` writes. No file: keyword rules (cold start). Running processes notice a
# newly installed file within CLASSIFIER_RELOAD_S seconds (a cheap mtime check), no restart needed.
CLASSIFIER_MODEL = env_str("MINSHENG_CLASSIFIER_MODEL", str(VAR_DIR / "models" / "category.model"))
CLASSIFIER_RELOAD_S = env_int("MINSHENG_CLASSIFIER_RELOAD_S", 30)
# The daily retrain runs only when at least this many labels (categories staff set, corrected or
# confirmed by handling) arrived since the last model; `minsheng classify retrain --min-labels` overrides.
CLASSIFIER_RETRAIN_MIN_LABELS = env_int("MINSHENG_CLASSIFIER_RETRAIN_MIN_LABELS", 50)
