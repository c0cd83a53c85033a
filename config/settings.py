"""Paydesk settings: one module, everything read from the environment (django-environ).

Production (`PAYDESK_ENV=production`) has no secret defaults; `config.checks` names what is
missing. Elsewhere secrets are generated into `.data/dev-secrets.env` on first use.
"""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab

from config.database import database_settings
from config.dev_secrets import ensure_dev_secrets
from config.logging import logging_config, logging_tune

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
PAYDESK_ENV = env.str("PAYDESK_ENV", default="development")
PRODUCTION = PAYDESK_ENV == "production"
if not PRODUCTION:
    environ.Env.read_env(ensure_dev_secrets(DATA_DIR / "dev-secrets.env"))

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "audit",
    "fraud",
    "webhooks",
    "payments",
    "compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "fraud.middleware.IpBlockMiddleware",
    "payments.api.middleware.ApiBodyLimitMiddleware",
    "config.middleware.PageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.PageAuthenticationMiddleware",
    # request.user.is_verified(): the back office shows nothing before the TOTP step.
    "config.middleware.PageOTPMiddleware",
    "audit.middleware.OperatorActorMiddleware",
    "config.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "payments.api.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {"default": database_settings(env, DATA_DIR / "pg")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    # First: refuses sign-ins to an account locked out after repeated failures (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "compliance.passwords.LettersAndDigitsValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Operators: 15-minute idle timeout (PCI DSS 8.2.8).
# PCI DSS 8.3.4: an account is locked for 30 minutes after 10 failed sign-ins, from any
# address (per username; fraud's brute-force rule blocks the address itself after 5).
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# axes.W006 asks for per-address lockout too: the brute-force rule already blocks addresses.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): only our own scripts, nothing framed, no plugins.
# Inline styles are allowed (the admin sets a few); the API docs page is exempt (its
# bundled Swagger UI starts from an inline script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# How many reverse proxies in front of us append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names need `collectstatic` first: production deploys run it; elsewhere (tests,
    # a fresh checkout) static files are served straight from the apps.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGGING = logging_config(env.str("LOG_LEVEL", default="INFO"))
logging_tune()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["payments.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["payments.api.permissions.HasRequiredScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "payments.api.negotiation.JsonFirstNegotiation",
    "DEFAULT_PARSER_CLASSES": ["payments.api.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "payments.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Paydesk merchant API",
    "DESCRIPTION": "Payments, customers and payment methods. Amounts are integer minor units.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"ErrorCodeEnum": "payments.errors.ErrorCode"},
}
# Bodies above this are refused with 413 before any parsing (the API takes small JSON).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
IDEMPOTENCY_KEY_TTL_HOURS = 24
# Authenticated API keys are kept per process for at most this long, and forgotten on every
# committed change to a key or merchant (LISTEN/NOTIFY; payments/services/api_key_cache.py).
# 0 turns the cache off (needed behind a transaction-pooling PgBouncer: no LISTEN there).
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=60)

# Inbound gateway webhooks: Stripe's endpoint signing secret (whsec_…) for /webhooks/stripe.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# /webhooks/paypal: our webhook's id at PayPal, and the platform's PayPal app (REST client
# credentials) that asks PayPal's verify-webhook-signature API about each delivery.
PAYPAL_WEBHOOK_ID = env.str("PAYPAL_WEBHOOK_ID", default="")
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="https://api-m.sandbox.paypal.com")

# Four eyes: a back-office refund above this many minor units (whatever the currency) needs a
# second operator's approval.
FOUR_EYES_REFUND_THRESHOLD = env.int("FOUR_EYES_REFUND_THRESHOLD", default=50_000)

# Circuit breakers (payments.services.breakers): open when at least BREAKER_MIN_CALLS calls
# within BREAKER_WINDOW_SECONDS include BREAKER_ERROR_RATE gateway errors; probe after
# BREAKER_OPEN_SECONDS.
BREAKER_WINDOW_SECONDS = env.int("BREAKER_WINDOW_SECONDS", default=60)
BREAKER_MIN_CALLS = env.int("BREAKER_MIN_CALLS", default=20)
BREAKER_ERROR_RATE = env.float("BREAKER_ERROR_RATE", default=0.5)
BREAKER_OPEN_SECONDS = env.int("BREAKER_OPEN_SECONDS", default=30)

# Celery: Redis when REDIS_URL is set, otherwise eager in-process execution (demo only).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "webhooks.*": {"queue": "webhook_queue"},
    "payments.tasks.inbound_webhook*": {"queue": "webhook_queue"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "retry-inbound-webhooks": {
        "task": "payments.tasks.inbound_webhooks_retry_task",
        "schedule": 60,
    },
    "purge-webhook-logs": {
        "task": "payments.tasks.webhook_logs_purge_task",
        "schedule": crontab(hour=3, minute=15),
    },
    "daily-reconciliation": {
        "task": "payments.tasks.daily_reconciliation_task",
        "schedule": crontab(hour=4, minute=0),  # PayPal search lags up to 3 h
    },
    "recover-stalled-operations": {
        "task": "payments.tasks.stalled_operations_recover_task",
        "schedule": 5 * 60,
    },
    "create-transaction-partitions": {
        "task": "payments.tasks.transaction_partitions_ensure_task",
        "schedule": 24 * 60 * 60,
    },
    "purge-idempotency-keys": {
        "task": "payments.tasks.idempotency_keys_purge_task",
        "schedule": 60 * 60,
    },
    # Outbound webhooks: a run that finds the queue backed up expires rather than piles up.
    "webhook-outbox-relay": {
        "task": "webhooks.outbound.tasks.outbox_relay_task",
        "schedule": 5,
        "options": {"expires": 5},
    },
    "webhook-deliveries-due": {
        "task": "webhooks.outbound.tasks.deliveries_due_task",
        "schedule": 5,
        "options": {"expires": 5},
    },
}
# Tasks outside an app's tasks.py, which autodiscovery does not find.
CELERY_IMPORTS = ["webhooks.outbound.tasks"]

# Outbound merchant webhooks (webhooks.outbound): how long an endpoint has to answer, and
# whether http:// and loopback endpoints are allowed (tests and local demos only; private
# ranges other than loopback are refused regardless).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=15)
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=False)

# Card vault: versioned AES-256 key-encryption keys "1:<base64>,2:<base64>"; newest encrypts.
VAULT_KEYS = env.str("VAULT_KEYS", default="")
VAULT_FINGERPRINT_KEY = env.str("VAULT_FINGERPRINT_KEY", default="")

# Optional MaxMind-format GeoIP database (GeoLite2-City.mmdb) locating customers by IP for the
# geographic fraud rule.
GEOIP_DATABASE = env.str("GEOIP_DATABASE", default="")

# Sandbox gateway: simulated network latency per call, for benchmarks.
SANDBOX_LATENCY_MS = env.int("SANDBOX_LATENCY_MS", default=0)
