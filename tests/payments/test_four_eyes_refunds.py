"""Four eyes: a back-office refund above the threshold waits for a second operator with the
permission to approve; the requester can never approve their own."""

import pytest
from django.test import Client

from audit.models import AuditLog
from compliance.operators import operator_create
from payments.models import Payment, Refund, RefundApproval
from tests.conftest import create_payment, operator_login

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"
APPROVALS = "/admin/payments/refundapproval/"


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.FOUR_EYES_REFUND_THRESHOLD = 5000  # 50.00


def signed_in(username: str, role: str) -> Client:
    created = operator_create(
        username=username, email=f"{username}@example.com", role=role, password="four-eyes-2024"
    )
    client = Client()
    operator_login(client, created.user)
    return client


def ask_refund(client, payment_id: str, amount: str = ""):
    return client.post(
        PAYMENTS,
        {
            "action": "refund_payments",
            "_selected_action": [payment_id],
            "apply": "1",
            "reason": "requested_by_customer",
            "amount": amount,
            "note": "",
        },
        follow=True,
    )


def decide(client, approval: RefundApproval, action: str):
    return client.post(
        APPROVALS,
        {"action": action, "_selected_action": [approval.pk], "apply": "1", "reason": "checked it"},
        follow=True,
    )


def test_a_small_refund_is_made_at_once(api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    operator = signed_in("olga", "payment-operator")

    ask_refund(operator, paid, "50.00")

    assert Refund.objects.get().amount == 5000
    assert not RefundApproval.objects.exists()


def test_a_large_refund_waits_for_a_second_operator_who_approves_it(api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    operator, admin = signed_in("olga", "payment-operator"), signed_in("ada", "payment-admin")

    asked = ask_refund(operator, paid, "50.01")

    assert b"four-eyes" in asked.content
    assert not Refund.objects.exists()
    approval = RefundApproval.objects.get()
    assert (approval.status, approval.requested_by, approval.amount) == ("pending", "olga", 5001)
    assert b"olga" in admin.get(APPROVALS, {"status__exact": "pending"}).content

    decide(admin, approval, "approve")

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", "ada")
    refund = Refund.objects.get()
    assert (refund.amount, refund.created_by) == (5001, "olga (approved by ada)")
    assert Payment.objects.get(pk=paid).amount_refunded == 5001
    assert AuditLog.objects.filter(action="refund.approval_approved").exists()


def test_the_requester_cannot_approve_their_own_request(api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    admin = signed_in("ada", "payment-admin")
    ask_refund(admin, paid)  # everything left: 100.00, above the threshold

    response = decide(admin, RefundApproval.objects.get(), "approve")

    assert b"someone other than the requester" in response.content
    assert RefundApproval.objects.get().status == "pending"
    assert not Refund.objects.exists()


def test_a_rejected_request_refunds_nothing(api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    operator, admin = signed_in("olga", "payment-operator"), signed_in("ada", "payment-admin")
    ask_refund(operator, paid, "80.00")

    decide(admin, RefundApproval.objects.get(), "reject")

    assert RefundApproval.objects.get().status == "rejected"
    assert not Refund.objects.exists()


def test_operators_without_the_approve_permission_cannot_decide(api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    requester, other = signed_in("olga", "payment-operator"), signed_in("otto", "payment-operator")
    ask_refund(requester, paid, "80.00")

    decide(other, RefundApproval.objects.get(), "approve")

    assert RefundApproval.objects.get().status == "pending"
