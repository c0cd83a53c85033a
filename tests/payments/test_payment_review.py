"""Operators approve or reject payments held for fraud review, with a reason, audited."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from audit.models import AuditLog
from fraud.rules import RuleSpec
from fraud.services import fraud_rules_apply
from payments.errors import InvalidRequest, StateConflict
from payments.models import Payment, PaymentStatus, Transaction
from payments.services.reviews import payment_review_approve, payment_review_reject
from tests.conftest import create_payment, operator_login

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def held_payment(api_client) -> Payment:
    fraud_rules_apply(
        [RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 1_000}}, "flag_for_review")],
        disable_missing=True,
    )
    body = create_payment(api_client, amount=5_000).json()
    assert body["status"] == "UNDER_REVIEW"
    return Payment.objects.get(pk=body["id"])


@pytest.mark.django_db
def test_approving_a_held_payment_authorizes_it_from_the_vault(held_payment, gateway_calls):
    payment = payment_review_approve(payment_id=held_payment.id, reason="Known customer, called")

    assert payment.status == PaymentStatus.COMPLETED
    assert gateway_calls.counts["authorize"] == 1
    assert Transaction.objects.filter(payment=payment, status="SUCCEEDED").count() == 1
    audit = AuditLog.objects.get(action="payment.review_approved", resource_id=payment.id)
    assert audit.new_value["reason"] == "Known customer, called"
    assert audit.old_value["status"] == "UNDER_REVIEW"


@pytest.mark.django_db
def test_rejecting_a_held_payment_cancels_it_without_a_gateway_call(held_payment, gateway_calls):
    payment = payment_review_reject(payment_id=held_payment.id, reason="Stolen card reported")

    assert payment.status == PaymentStatus.CANCELLED
    assert payment.cancellation_reason == "fraudulent"
    assert gateway_calls.counts["authorize"] == 0
    audit = AuditLog.objects.get(action="payment.review_rejected")
    assert audit.new_value["reason"] == "Stolen card reported"


@pytest.mark.django_db
def test_a_decision_needs_a_reason_and_a_held_payment(held_payment, api_client):
    with pytest.raises(InvalidRequest):
        payment_review_approve(payment_id=held_payment.id, reason="  ")
    payment_review_reject(payment_id=held_payment.id, reason="fraud")

    with pytest.raises(StateConflict):
        payment_review_approve(payment_id=held_payment.id, reason="changed my mind")
    assert Payment.objects.get(pk=held_payment.pk).status == PaymentStatus.CANCELLED


def operator(client, *, can_review: bool):
    user = get_user_model().objects.create_user(
        "operator", password="a-long-password-123", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_payment"))
    if can_review:
        user.user_permissions.add(Permission.objects.get(codename="review_payment"))
    operator_login(client, user)
    return user


@pytest.mark.django_db
def test_back_office_approve_asks_for_a_reason_then_approves_and_audits_the_operator(
    client, held_payment
):
    user = operator(client, can_review=True)
    selection = {"action": "approve_review", "_selected_action": [held_payment.pk]}

    confirm = client.post(CHANGELIST, selection)
    missing_reason = client.post(CHANGELIST, {**selection, "apply": "1", "reason": ""})
    done = client.post(CHANGELIST, {**selection, "apply": "1", "reason": "Verified by phone"})

    assert confirm.status_code == 200 and b"Verified" not in confirm.content
    assert b"reason" in confirm.content
    assert missing_reason.status_code == 200  # the form again, nothing decided
    assert done.status_code == 302
    assert Payment.objects.get(pk=held_payment.pk).status == PaymentStatus.COMPLETED
    audit = AuditLog.objects.get(action="payment.review_approved")
    assert audit.user_id == f"user:{user.pk}"
    assert audit.ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_back_office_reject_is_refused_without_the_review_permission(client, held_payment):
    operator(client, can_review=False)

    page = client.get(CHANGELIST)
    response = client.post(
        CHANGELIST,
        {
            "action": "reject_review",
            "_selected_action": [held_payment.pk],
            "apply": "1",
            "reason": "no",
        },
    )

    assert b"reject_review" not in page.content
    assert response.status_code in (200, 302)
    assert Payment.objects.get(pk=held_payment.pk).status == PaymentStatus.UNDER_REVIEW


@pytest.mark.django_db
def test_payment_detail_explains_the_fraud_decision(client, held_payment):
    operator(client, can_review=True)

    page = client.get(f"{CHANGELIST}{held_payment.pk}/change/")

    assert page.status_code == 200
    assert b"flag_for_review (score 40): big v1" in page.content


@pytest.mark.django_db
def test_review_queue_is_oldest_first_and_shows_the_customers_history(client, api_client):
    fraud_rules_apply(
        [RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 1_000}}, "flag_for_review")],
        disable_missing=True,
    )
    customer = api_client.post("/api/v1/customers", {"email": "c@example.com"}, format="json")
    customer_id = customer.json()["id"]
    earlier = create_payment(api_client, amount=500, customer=customer_id).json()["id"]
    first_held = create_payment(api_client, amount=5_000, customer=customer_id).json()["id"]
    second_held = create_payment(api_client, amount=6_000).json()["id"]
    operator(client, can_review=True)

    queue = client.get(CHANGELIST, {"status__exact": "UNDER_REVIEW"}).content.decode()
    detail = client.get(f"{CHANGELIST}{first_held}/change/").content.decode()

    assert queue.index(first_held) < queue.index(second_held)
    assert earlier not in queue
    assert earlier in detail  # the customer's other payment, linked from the review page
