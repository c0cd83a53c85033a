import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from payments.models import Payment, PaymentStatus


def seed(settings, tmp_path) -> str:
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_same_login_and_key(settings, tmp_path):
    first = seed(settings, tmp_path)
    second = seed(settings, tmp_path)

    key = re.search(r"Test API key: (sk_test_\w+)", first).group(1)
    password = re.search(r"login: admin / (\S+)", first).group(1)
    assert f"Test API key: {key}" in second
    assert f"login: admin / {password}" in second
    assert Payment.objects.filter(merchant__slug="demo-store").count() == 300
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert json.loads((tmp_path / "demo-credentials.json").read_text())["api_key"] == key


@pytest.mark.django_db
def test_seed_demo_spreads_payments_across_statuses_currencies_and_days(settings, tmp_path):
    seed(settings, tmp_path)

    payments = Payment.objects.filter(merchant__slug="demo-store")
    statuses = set(payments.values_list("status", flat=True))
    assert {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.AUTHORIZED} <= statuses
    assert {PaymentStatus.REQUIRES_ACTION, PaymentStatus.CANCELLED} <= statuses
    assert len(set(payments.values_list("currency", flat=True))) >= 4
    days = {created.date() for created in payments.values_list("created_at", flat=True)}
    assert len(days) >= 20
