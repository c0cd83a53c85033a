"""A payment stuck in PROCESSING is settled by hand only with four eyes: one operator asks
(with what they checked at the gateway), a different one approves; audited, merchants told."""

import pytest
from django.test import Client

from audit.models import AuditLog
from compliance.operators import operator_create
from payments.gateways.interface import GatewayTimeoutError
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, RecoveryCheck, StatusFixApproval
from tests.conftest import create_payment, operator_login
from webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"
FIXES = "/admin/payments/statusfixapproval/"


def signed_in(username: str) -> Client:
    created = operator_create(
        username=username,
        email=f"{username}@example.com",
        role="payment-admin",
        password="status-fix-2024",
    )
    client = Client()
    operator_login(client, created.user)
    return client


@pytest.fixture
def stuck(api_client, monkeypatch) -> str:
    def timed_out(self, request):
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(SandboxGateway, "authorize", timed_out)
    payment_id = create_payment(api_client).json()["id"]
    RecoveryCheck.objects.create(
        idempotency_key=f"{payment_id}:authorize:1",
        resource_type="payment",
        resource_id=payment_id,
        operation="authorize",
        gateway="sandbox",
        stuck_since=Payment.objects.get(pk=payment_id).updated_at,
        next_attempt_at=Payment.objects.get(pk=payment_id).updated_at,
    )
    return payment_id


def request_fix(client, payment_id: str, status: str = "FAILED"):
    return client.post(
        PAYMENTS,
        {
            "action": "request_status_fix",
            "_selected_action": [payment_id],
            "apply": "1",
            "status": status,
            "reason": "Gateway dashboard shows no charge for this id",
        },
        follow=True,
    )


def decide(client, approval, approve: bool = True):
    return client.post(
        FIXES,
        {
            "action": "approve" if approve else "reject",
            "_selected_action": [approval.pk],
            "apply": "1",
            "reason": "checked the same dashboard",
        },
        follow=True,
    )


def test_a_second_operator_approves_and_the_payment_is_settled(stuck):
    ada, bob = signed_in("ada"), signed_in("bob")

    request_fix(ada, stuck)
    assert Payment.objects.get(pk=stuck).status == "PROCESSING"  # nothing yet
    decide(bob, StatusFixApproval.objects.get())

    payment = Payment.objects.get(pk=stuck)
    assert (payment.status, payment.pending_operation) == ("FAILED", "")
    assert StatusFixApproval.objects.get().status == "approved"
    assert AuditLog.objects.filter(action="payment.status_forced", resource_id=stuck).exists()
    assert OutboxEvent.objects.filter(type="payment.failed", data__id=stuck).exists()
    assert RecoveryCheck.objects.get().resolution == "forced:FAILED"


def test_the_requester_cannot_approve_their_own_fix(stuck):
    ada = signed_in("ada")
    request_fix(ada, stuck)

    response = decide(ada, StatusFixApproval.objects.get())

    assert b"someone other than the requester" in response.content
    assert Payment.objects.get(pk=stuck).status == "PROCESSING"


def test_only_stuck_payments_can_be_fixed(api_client):
    settled = create_payment(api_client).json()["id"]

    response = request_fix(signed_in("ada"), settled)

    assert b"Only a payment stuck in PROCESSING" in response.content
    assert not StatusFixApproval.objects.exists()


def test_a_payment_settled_meanwhile_fails_the_fix_instead_of_overwriting(stuck):
    ada, bob = signed_in("ada"), signed_in("bob")
    request_fix(ada, stuck, "COMPLETED")
    Payment.objects.filter(pk=stuck).update(status="FAILED", pending_operation="")

    decide(bob, StatusFixApproval.objects.get())

    fix = StatusFixApproval.objects.get()
    assert fix.status == "failed" and "settled meanwhile" in fix.error
    assert Payment.objects.get(pk=stuck).status == "FAILED"
