"""FleetDeck's one settings module.

Every value comes from an environment variable and has a default that runs with none set:
SQLite in ./var, Redis on localhost (the demo and tests start an embedded one when no
REDIS_URL is given), DEBUG off.
"""

import math
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

# Lets ModelAdmin[Server] and friends be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


# Every FLEET_* variable this module reads; any other FLEET_* in the environment is a typo.
_READ: set[str] = set()
# FLEET_* variables read outside the Django settings (the demo harness, a test knob).
_READ_ELSEWHERE = {"FLEET_TRITON_HOME", "FLEET_LATENCY_SECONDS"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A switch: 1/true/yes/on or 0/false/no/off (any case); empty or unset is the default.

    Anything else stops start-up naming the variable: a safety switch such as
    FLEET_READ_ONLY=ture must fail safe, never read as false.
    """
    _READ.add(name)
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Unexpected value {name}={os.environ[name]!r}: use one of {sorted(_TRUE)} or {sorted(_FALSE)}"
    )


def env_float(name: str, default: float, minimum: float | None = 0.0) -> float:
    """A number (empty or unset is the default); a bad or negative one names the variable."""
    _READ.add(name)
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use a number") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use a finite number >= {minimum}")
    return number


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """A whole number (empty or unset is the default); anything else names the variable."""
    _READ.add(name)
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use a whole number >= {minimum}")
    return number


def env_str(name: str, default: str) -> str:
    _READ.add(name)
    return os.environ.get(name, default)


def env_choice(name: str, default: str, choices: set[str]) -> str:
    _READ.add(name)
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use one of {sorted(choices)}")
    return value


def env_list(name: str, default: str) -> list[str]:
    _READ.add(name)
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("FLEET_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Behind TLS (directly or through a proxy that sets X-Forwarded-Proto): secure cookies,
# HSTS and a redirect to https. `manage.py check --deploy` is clean with this on.
FLEET_HTTPS = env_bool("FLEET_HTTPS", False)


def _secret_key() -> str:
    """SECRET_KEY, else a random key made once and kept with this install's data.

    Never a key shared by installs: anyone who read a published default could forge an
    admin session. Production (FLEET_HTTPS, and the image, which sets FLEET_REQUIRE_SECRET_KEY)
    refuses to start without an explicit one, since a key in a container's var/ would change
    with every new container and log everybody out.
    """
    key = env_str("SECRET_KEY", "").strip()
    if key:
        return key
    if FLEET_HTTPS or env_bool("FLEET_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY is not set: production needs an explicit, secret key")
    path = VAR_DIR / "secret_key"
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: of two processes starting at once, one writes and both read the same key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
    for _ in range(50):  # the writer may not have written yet
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise ImproperlyConfigured(f"{path} is empty: delete it and start again")


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if FLEET_HTTPS else None
SECURE_SSL_REDIRECT = FLEET_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and Prometheus speak plain http
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = FLEET_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if FLEET_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", FLEET_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", FLEET_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "channels",
    "fleet",
    "dashboard",
]

MIDDLEWARE = [
    # First, so that it compresses what the others answer: the series API's JSON (an hour of
    # one series at 1 s is ~90 KB, ~20 KB gzipped) and pages. Static files come compressed
    # from WhiteNoise already and are left alone. Django pads gzipped bodies against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who may use which route: dashboard/access.py's one table (API views apply it in DRF).
    "dashboard.access.AccessMiddleware",
    # Last, as django-axes asks: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'fleetdeck.sqlite3'}"),
        conn_max_age=60,
        # A kept connection is checked before reuse, so a restarted PostgreSQL fails no
        # query on a connection it already closed (Celery tasks and ASGI requests open their
        # own anyway; tests/faults/test_postgres_restarted.py restarts it under load).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Worker, beat and web share the file: wait for the writer instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so that a Celery worker started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-fleetdeck.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Login throttling (django-axes), for the login page and the admin's: after this many
# failures for one username from one address, that pair is locked out for the cool-off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("FLEET_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("FLEET_LOGIN_COOLOFF_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# API tokens (django-rest-knox): stored as SHA-512 digests, each with an expiry.
FLEET_API_TOKEN_DAYS = env_int("FLEET_API_TOKEN_DAYS", 90, minimum=1)
FLEET_API_TOKEN_MAX_DAYS = env_int("FLEET_API_TOKEN_MAX_DAYS", 365, minimum=1)
if FLEET_API_TOKEN_DAYS > FLEET_API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("FLEET_API_TOKEN_DAYS is above FLEET_API_TOKEN_MAX_DAYS")
REST_KNOX = {"TOKEN_TTL": timedelta(days=FLEET_API_TOKEN_DAYS)}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# collectstatic writes .gz and .br beside each file and WhiteNoise serves the one the
# browser accepts (Plotly: 1.2 MB → ~0.35 MB). Not the manifest variant: file names keep
# their version instead of a hash, and pages render without a collected manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Prefix of FleetDeck's own keys in Redis (channel layer, telemetry), so that installs, or
# a test run and a demo, can share one Redis.
FLEET_REDIS_PREFIX = env_str("FLEET_REDIS_PREFIX", "fleetdeck")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, which ends the layer's
            # blocking 5 s receive: a socket idle for 5 s would die. Longer than that,
            # still short enough to notice a dead connection.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": f"{FLEET_REDIS_PREFIX}:asgi",
        },
    }
}

# --- Scraping -------------------------------------------------------------------------
FLEET_SCRAPE_INTERVAL = env_float("FLEET_SCRAPE_INTERVAL", 5.0)
# Repository index, statistics and configs change rarely and cost more: a slower cadence.
FLEET_INVENTORY_INTERVAL = env_float("FLEET_INVENTORY_INTERVAL", 30.0)
# Model configs read per inventory read at most (changed models first): the first read of a
# server with hundreds of models, or configs that keep failing, is spread over several reads.
FLEET_CONFIG_READS_PER_INVENTORY = env_int("FLEET_CONFIG_READS_PER_INVENTORY", 25, minimum=1)
FLEET_HTTP_CONNECT_TIMEOUT = env_float("FLEET_HTTP_CONNECT_TIMEOUT", 1.0)
FLEET_HTTP_READ_TIMEOUT = env_float("FLEET_HTTP_READ_TIMEOUT", 3.0)
# The read timeout bounds each socket read; this bounds a whole answer (a server dripping a
# byte at a time would otherwise hold a worker for as long as it likes). Loads use
# FLEET_LOAD_TIMEOUT instead.
FLEET_HTTP_DEADLINE = env_float("FLEET_HTTP_DEADLINE", 10.0)
FLEET_METRICS_MAX_BYTES = env_int("FLEET_METRICS_MAX_BYTES", 16 * 1024 * 1024, minimum=1)
# A server exporting more series than this is refused (an error on it), not stored.
FLEET_MAX_SERIES_PER_SERVER = env_int("FLEET_MAX_SERIES_PER_SERVER", 20_000, minimum=1)
# Read series from an existing Prometheus that scrapes the servers, instead of storing our own.
PROMETHEUS_URL = env_str("PROMETHEUS_URL", "").rstrip("/")
# The range of rate() in PromQL, in seconds: at least 4 of Prometheus' scrape intervals.
PROMETHEUS_RATE_WINDOW = env_float("PROMETHEUS_RATE_WINDOW", 60.0)
# Retention: raw blocks, 1-minute and 1-hour rollups (model events and configs: the latter).
FLEET_RAW_RETENTION = timedelta(hours=env_float("FLEET_RAW_RETENTION_HOURS", 6))
FLEET_MINUTE_RETENTION = timedelta(days=env_float("FLEET_MINUTE_RETENTION_DAYS", 7))
FLEET_HOUR_RETENTION = timedelta(days=env_float("FLEET_HOUR_RETENTION_DAYS", 90))

# Disables every control action (load, unload, promote, rollback): 403 before anything else.
FLEET_READ_ONLY = env_bool("FLEET_READ_ONLY", False)

# --- Control actions (load, unload, promote, rollback) --------------------------------
# Triton's load call blocks until the model is loaded: minutes for big models.
FLEET_LOAD_TIMEOUT = env_float("FLEET_LOAD_TIMEOUT", 600.0)
# After Triton answers, how long to wait for the index to show the expected versions.
FLEET_VERIFY_TIMEOUT = env_float("FLEET_VERIFY_TIMEOUT", 120.0)
# A running action renews its heartbeat every third of this; one silent for longer
# belongs to a lost worker, and reconciliation ends it from what Triton shows.
FLEET_ACTION_LEASE = env_float("FLEET_ACTION_LEASE", 30.0)
# A queued action no worker picked up within this is failed, freeing the model.
FLEET_ACTION_QUEUE_TIMEOUT = env_float("FLEET_ACTION_QUEUE_TIMEOUT", 900.0)
# A running action that Triton still shows LOADING or UNLOADING this long after it started
# is ended failed (its model freed): Triton is stuck, not slow.
FLEET_ACTION_MAX_AGE = env_float("FLEET_ACTION_MAX_AGE", 3600.0)
FLEET_RECONCILE_INTERVAL = env_float("FLEET_RECONCILE_INTERVAL", 15.0)
# Unloading a model that served traffic this recently needs {"confirm": true}.
FLEET_UNLOAD_CONFIRM_WINDOW = env_float("FLEET_UNLOAD_CONFIRM_WINDOW", 300.0)

# --- The long-tail autopilot (fleet/autopilot) ------------------------------------------
# How long ensure-loaded waits for READY before it answers 202 with the action (a request's
# `timeout` overrides it): a web request that waits for a load of many minutes is cut by proxies.
FLEET_ENSURE_WAIT = env_float("FLEET_ENSURE_WAIT", 300.0)
# How often beat unloads idle models (servers whose autopilot has an idle_unload_s).
FLEET_AUTOPILOT_INTERVAL = env_float("FLEET_AUTOPILOT_INTERVAL", 15.0, minimum=0.1)
# Ensure of a READY model is answered in front of Django (dashboard/fast_ensure.py) for a
# token the Django view authorized within this many seconds: a token revoked, or a user whose
# role was taken away, in another process (manage.py, the admin in another web process) is
# still accepted by this process's fast path for up to this long. 0 turns the fast path off.
FLEET_ENSURE_AUTH_TTL = env_float("FLEET_ENSURE_AUTH_TTL", 5.0)

# --- Desired state (fleet/deploy) ------------------------------------------------------
# How often beat compares deployments with the inventory and repairs drift; a model whose
# load keeps failing waits this, doubling, up to FLEET_DEPLOY_BACKOFF_MAX between tries.
FLEET_DEPLOY_RECONCILE_INTERVAL = env_float("FLEET_DEPLOY_RECONCILE_INTERVAL", 15.0, minimum=0.1)
FLEET_DEPLOY_BACKOFF_MAX = env_float("FLEET_DEPLOY_BACKOFF_MAX", 600.0)
# How often a running rollout looks at its wave's loads (a bake's end is waited for exactly);
# a rollout no worker advanced for FLEET_DEPLOY_ROLLOUT_LEASE is taken up again by the next
# reconcile.
FLEET_DEPLOY_ROLLOUT_POLL = env_float("FLEET_DEPLOY_ROLLOUT_POLL", 0.25, minimum=0.05)
FLEET_DEPLOY_ROLLOUT_LEASE = env_float("FLEET_DEPLOY_ROLLOUT_LEASE", 30.0)
# A rollout still running this long after it started ends failed (rolled back).
FLEET_DEPLOY_ROLLOUT_MAX_AGE = env_float("FLEET_DEPLOY_ROLLOUT_MAX_AGE", 6 * 3600.0)

# --- On-call (fleet/alerting) ----------------------------------------------------------
# A webhook delivery waits this long for an answer, is tried this many times, and waits
# FLEET_WEBHOOK_BACKOFF × 2^(attempt − 1) seconds between attempts.
FLEET_WEBHOOK_TIMEOUT = env_float("FLEET_WEBHOOK_TIMEOUT", 5.0, minimum=0.1)
FLEET_WEBHOOK_ATTEMPTS = env_int("FLEET_WEBHOOK_ATTEMPTS", 5, minimum=1)
FLEET_WEBHOOK_BACKOFF = env_float("FLEET_WEBHOOK_BACKOFF", 2.0)

# /metrics (FleetDeck's own figures) asks for `Authorization: Bearer <this>` when set.
FLEET_METRICS_TOKEN = env_str("FLEET_METRICS_TOKEN", "")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
# A separate queue name lets a test run share a Redis with a running demo.
CELERY_TASK_DEFAULT_QUEUE = env_str("FLEET_CELERY_QUEUE", "celery")
# Scrapes have their own queue, so a fleet of hundreds of servers can get workers of its own
# (`celery -A config worker -Q scrape`) while a plain worker consumes both queues.
FLEET_SCRAPE_QUEUE = env_str("FLEET_SCRAPE_QUEUE", CELERY_TASK_DEFAULT_QUEUE + "-scrape")
# Webhook deliveries have theirs, so that a worker whose slots are all held by loads (which
# take minutes) cannot hold an alert back: the Procfile and docker-compose.yml give it a
# thread-pool worker of its own (`-Q <this>`) and keep it off the main worker (`-X <this>`).
# A plain worker, without -Q or -X, consumes every queue.
FLEET_NOTIFY_QUEUE = env_str("FLEET_NOTIFY_QUEUE", CELERY_TASK_DEFAULT_QUEUE + "-notify")
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, FLEET_SCRAPE_QUEUE, FLEET_NOTIFY_QUEUE)
]
# The short periodic tasks go there too: a worker whose slots are all held by long loads
# would otherwise stop the fan-out of scrapes and the reconciliation of actions until a load
# ends (tests/faults/test_redis_restarted.py keeps both control slots busy).
CELERY_TASK_ROUTES = {
    "fleet.tasks.scrape": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.scrape_fleet_via_prometheus": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.dispatch_scrapes": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.reconcile_actions": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.autopilot_idle": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.sweep_debug_sessions": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.reconcile_deployments": {"queue": FLEET_SCRAPE_QUEUE},
    "fleet.tasks.deliver_webhook": {"queue": FLEET_NOTIFY_QUEUE},
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-scrapes": {
        "task": "fleet.tasks.dispatch_scrapes",
        "schedule": FLEET_SCRAPE_INTERVAL,
        "options": {"expires": FLEET_SCRAPE_INTERVAL * 0.9},
    },
    "reconcile-actions": {
        "task": "fleet.tasks.reconcile_actions",
        "schedule": FLEET_RECONCILE_INTERVAL,
        "options": {"expires": FLEET_RECONCILE_INTERVAL * 0.9},
    },
    "autopilot-idle": {
        "task": "fleet.tasks.autopilot_idle",
        "schedule": FLEET_AUTOPILOT_INTERVAL,
        "options": {"expires": FLEET_AUTOPILOT_INTERVAL * 0.9},
    },
    "reconcile-deployments": {
        "task": "fleet.tasks.reconcile_deployments",
        "schedule": FLEET_DEPLOY_RECONCILE_INTERVAL,
        "options": {"expires": FLEET_DEPLOY_RECONCILE_INTERVAL * 0.9},
    },
    "sweep-debug-sessions": {
        "task": "fleet.tasks.sweep_debug_sessions",
        "schedule": FLEET_RECONCILE_INTERVAL,
        "options": {"expires": FLEET_RECONCILE_INTERVAL * 0.9},
    },
    "purge-expired-tokens": {
        "task": "dashboard.tasks.purge_expired_tokens",
        "schedule": 3600.0,
        "options": {"expires": 3000.0},
    },
    "maintain-storage": {
        "task": "fleet.tasks.maintain_storage",
        "schedule": 60.0,
        "options": {"expires": 50.0},
    },
}

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dashboard.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["dashboard.permissions.RouteAccess"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FleetDeck API",
    "DESCRIPTION": "Read and control a fleet of NVIDIA Triton Inference Servers.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["dashboard.permissions.RouteAccess"],
    # Several tables have a `kind` and a `state`: each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "ActionKindEnum": "fleet.models.Action.Kind",
        "ActionStateEnum": "fleet.models.Action.State",
        "AlertRuleKindEnum": "fleet.models.AlertRule.Kind",
        "AlertStateEnum": "fleet.models.Alert.State",
        "RolloutStateEnum": "fleet.models.Rollout.State",
        "TargetStateEnum": "fleet.models.DeploymentTarget.State",
    },
}

# LOG_FORMAT=json for one JSON object per line (log shippers); plain text otherwise.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", {"plain", "json"})
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes logs every successful login at INFO; its failures and lockouts are WARNINGs.
    "loggers": {"axes": {"level": "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"}},
}

_UNKNOWN = sorted(n for n in os.environ if n.startswith("FLEET_") and n not in _READ | _READ_ELSEWHERE)
if _UNKNOWN:
    raise ImproperlyConfigured(f"Unknown setting {', '.join(_UNKNOWN)}: a typo? See the README.")

VAR_DIR.mkdir(parents=True, exist_ok=True)
