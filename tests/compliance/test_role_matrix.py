"""Every role against the back office's screens and state-changing actions, by direct URL:
what the runbook's RBAC allows is reachable, the rest is refused (403, a redirect to sign in,
or an action that is not offered and changes nothing)."""

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditLog
from compliance.operators import operator_create
from fraud.models import FraudRule
from payments.models import GatewayBreaker, Payment, Refund
from tests.conftest import create_payment, operator_login

pytestmark = pytest.mark.django_db
ROLES = ("payment-admin", "payment-operator", "payment-viewer", "auditor")

# (screen, URL, roles that may see it)
SCREENS = [
    ("payments", "/admin/payments/payment/", set(ROLES)),
    ("refunds", "/admin/payments/refund/", set(ROLES)),
    ("fraud checks", "/admin/fraud/fraudcheck/", set(ROLES)),
    ("webhook deliveries", "/admin/webhooks/webhookdelivery/", set(ROLES)),
    ("audit log", "/admin/audit/auditlog/", set(ROLES)),
    ("security events", "/admin/audit/securityevent/", set(ROLES)),
    ("new gateway account", "/admin/payments/gatewayaccount/add/", {"payment-admin"}),
    ("compliance exports", "/admin/compliance/complianceexport/", {"auditor"}),
]


def signed_in(role: str) -> Client:
    created = operator_create(
        username=f"as-{role}", email=f"{role}@example.com", role=role, password="matrix-pass-2024"
    )
    client = Client()
    operator_login(client, created.user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("screen", "url", "allowed"), SCREENS, ids=[s[0] for s in SCREENS])
def test_each_role_sees_exactly_its_screens(role, screen, url, allowed):
    response = signed_in(role).get(url)

    if role in allowed:
        assert response.status_code == 200, (role, screen)
    else:
        assert response.status_code in (302, 403), (role, screen, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_refunding_from_the_back_office_follows_payment_refund(role, api_client):
    paid = create_payment(api_client).json()["id"]
    client = signed_in(role)

    page = client.get("/admin/payments/payment/")
    client.post(
        "/admin/payments/payment/",
        {
            "action": "refund_payments",
            "_selected_action": [paid],
            "apply": "1",
            "reason": "requested_by_customer",
            "amount": "",
            "note": "",
        },
    )

    may_refund = role in ("payment-admin", "payment-operator")
    assert (b"refund_payments" in page.content) is may_refund
    assert Refund.objects.filter(payment_id=paid).exists() is may_refund


@pytest.mark.parametrize("role", ROLES)
def test_breaker_overrides_need_payment_configure(role):
    GatewayBreaker.objects.create(gateway="sandbox")
    client = signed_in(role)

    client.post(
        "/admin/payments/gatewaybreaker/",
        {
            "action": "breaker_forced_open",
            "_selected_action": ["sandbox"],
            "apply": "1",
            "reason": "matrix test reason",
        },
    )

    expected = "forced_open" if role == "payment-admin" else ""
    assert GatewayBreaker.objects.get().override == expected


@pytest.mark.parametrize("role", ROLES)
def test_editing_fraud_rules_needs_payment_configure(role):
    rule = FraudRule.objects.filter(kind="velocity").first() or FraudRule.objects.first()
    response = signed_in(role).get(f"/admin/fraud/fraudrule/{rule.pk}/edit-rule/")

    assert (response.status_code == 200) is (role == "payment-admin"), response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_review_decisions_need_payment_write(role, api_client):
    paid = create_payment(api_client).json()["id"]
    Payment.objects.filter(pk=paid).update(status="UNDER_REVIEW")
    client = signed_in(role)

    client.post(
        "/admin/payments/payment/",
        {
            "action": "reject_review",
            "_selected_action": [paid],
            "apply": "1",
            "reason": "matrix says no",
        },
    )

    rejected = Payment.objects.get(pk=paid).status == "CANCELLED"
    assert rejected is (role == "payment-admin")


@pytest.mark.parametrize("role", ROLES)
def test_capture_and_cancel_need_payment_write_and_record_the_reason(role, api_client):
    to_capture = create_payment(api_client, capture_method="manual").json()["id"]
    to_cancel = create_payment(api_client, capture_method="manual").json()["id"]
    client = signed_in(role)

    for action, payment_id in (("capture_payments", to_capture), ("cancel_payments", to_cancel)):
        client.post(
            "/admin/payments/payment/",
            {
                "action": action,
                "_selected_action": [payment_id],
                "apply": "1",
                "reason": "customer called support",
            },
        )

    allowed = role == "payment-admin"
    assert (Payment.objects.get(pk=to_capture).status == "COMPLETED") is allowed
    assert (Payment.objects.get(pk=to_cancel).status == "CANCELLED") is allowed
    requested = AuditLog.objects.filter(
        action__in=["payment.capture_requested", "payment.cancel_requested"]
    )
    assert requested.count() == (2 if allowed else 0)
    if allowed:
        assert {row.new_value["reason"] for row in requested} == {"customer called support"}


def every_list() -> list[tuple[str, str, str]]:
    """(list URL, app label, model name) of every back-office list."""
    return sorted(
        (
            f"/admin/{model._meta.app_label}/{model._meta.model_name}/",
            model._meta.app_label,
            model._meta.model_name,
        )
        for model in django_admin.site._registry
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_list_opens_exactly_for_the_roles_whose_permissions_allow_it(role):
    """Direct URL access to every registered list, for every role: open (200) when the role
    holds the model's view or change permission, refused (403) otherwise. Saved filters are
    every operator's own."""
    client = signed_in(role)
    operator = get_user_model().objects.get(username=f"as-{role}")
    wrong = []
    for url, app, model in every_list():
        allowed = model == "savedfilter" or any(
            operator.has_perm(f"{app}.{action}_{model}") for action in ("view", "change")
        )
        status = client.get(url).status_code
        if status != (200 if allowed else 403):
            wrong.append((url, allowed, status))
    assert wrong == []
