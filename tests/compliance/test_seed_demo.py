import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from compliance.management.commands.seed_demo import DEMO_PAYMENTS
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.services.reconciliation import reconcile_day


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
    assert Payment.objects.filter(merchant__slug="demo-store").count() == DEMO_PAYMENTS
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert json.loads((tmp_path / "demo-credentials.json").read_text())["api_key"] == key


@pytest.mark.django_db
def test_seed_demo_prints_one_login_per_role_each_with_its_totp(settings, tmp_path):
    first = seed(settings, tmp_path)
    second = seed(settings, tmp_path)

    users = get_user_model().objects
    for name, role in (
        ("ops-admin", "payment-admin"),
        ("ops-operator", "payment-operator"),
        ("ops-viewer", "payment-viewer"),
        ("ops-auditor", "auditor"),
    ):
        line = re.search(rf"{name} \({role}\) / (\S+)   (otpauth://totp/\S+)", first)
        assert line, first
        assert line.group(0) in second  # same password and TOTP secret on every run
        user = users.get(username=name)
        assert user.check_password(line.group(1))
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert not user.is_superuser
    assert re.search(r"TOTP for admin \(authenticator app\): otpauth://totp/", first)


@pytest.mark.django_db
def test_seed_demo_spreads_payments_across_statuses_currencies_and_days(settings, tmp_path):
    seed(settings, tmp_path)

    payments = Payment.objects.filter(merchant__slug="demo-store")
    statuses = set(payments.values_list("status", flat=True))
    assert {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.AUTHORIZED} <= statuses
    assert {PaymentStatus.REQUIRES_ACTION, PaymentStatus.CANCELLED} <= statuses
    # The card-testing burst: the runbook's rule held what came after 100 in the hour.
    assert payments.filter(status=PaymentStatus.UNDER_REVIEW).count() == 3
    refunds = Refund.objects.filter(payment__merchant__slug="demo-store")
    assert refunds.filter(status=RefundStatus.COMPLETED).count() >= 5
    assert refunds.filter(amount__lt=models.F("payment__amount")).exists()  # partial ones too
    assert len(set(payments.values_list("currency", flat=True))) >= 4
    days = {created.date() for created in payments.values_list("created_at", flat=True)}
    assert len(days) >= 20


@pytest.mark.django_db
def test_daily_reconciliation_of_the_demo_month_finds_nothing_to_flag(settings, tmp_path):
    """The demo's payments, refunds and ledger rows are spread over the month, and the
    sandbox's records of them move with them: every day reconciles."""
    seed(settings, tmp_path)
    today = timezone.now().date()

    runs = [run for back in range(32) for run in reconcile_day(today - dt.timedelta(days=back))]

    assert sum(run.matched for run in runs) > 200
    assert [(run.day, run.exceptions) for run in runs if run.exceptions] == []
