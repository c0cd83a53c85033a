"""Settings of a plain Django project (startproject's middleware, DRF's defaults), with
pooled connections as DESIGN.md asks of any serious setup. Its database is
`paydesk_bench_reference` on Paydesk's PostgreSQL server (DATABASE_URL's, or the embedded one).
"""

import os
import secrets
from pathlib import Path

import environ

from config.database import embedded_postgres_settings

ROOT = Path(__file__).resolve().parents[3]

# Nothing here is signed across requests or processes: a fresh key per process will do.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "tests.bench.reference.urls"
WSGI_APPLICATION = "tests.bench.reference.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "tests.bench.reference",
]
MIGRATION_MODULES = {"reference": None}  # created by `migrate --run-syncdb`
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASE_NAME = "paydesk_bench_reference"
_url = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": (
        environ.Env().db_url_config(_url)
        if _url
        else embedded_postgres_settings(ROOT / ".data" / "pg")
    )
    | {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        # Paydesk's pool sizes (the runbook's), through Django's own psycopg pool.
        "OPTIONS": {"pool": {"min_size": 10, "max_size": 30, "timeout": 20}},
    }
}
REST_FRAMEWORK = {"UNAUTHENTICATED_USER": None}
