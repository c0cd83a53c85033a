"""Security headers on the back office and the API (PCI DSS 6.4): a content security policy,
no framing, no MIME sniffing; secure cookies and HSTS in production."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/admin/login/", "/actuator/health"])
def test_pages_carry_a_content_security_policy_and_refuse_framing(client, url):
    response = client.get(url)

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_answers_carry_a_policy_that_loads_nothing(client):
    response = client.get("/api/v1/payments")

    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_docs_page_works_without_the_policy(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_production_sets_secure_cookies_and_hsts():
    """Read the settings as a production process gets them (PAYDESK_ENV=production)."""
    probe = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_AGE, "
        "s.SESSION_SAVE_EVERY_REQUEST, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=child_env(PAYDESK_ENV="production", SECRET_KEY="x" * 50, DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", "31536000", "900", "True", "False"]
