"""The sandbox gateway's own ledger: a retried call with the same idempotency key gets the
first answer back and records nothing new, as a real processor's would."""

import pytest

from payments.gateways.interface import AuthorizeRequest, GatewayCard, Outcome
from payments.gateways.sandbox import SandboxGateway
from payments.models import SandboxOperation

pytestmark = pytest.mark.django_db


def _authorize(key: str, number: str = "4242424242424242", amount: int = 500):
    return SandboxGateway().authorize(
        AuthorizeRequest(
            payment_id="pay_test",
            amount=amount,
            currency="EUR",
            card=GatewayCard(number, 12, 2030, "123"),
            capture=True,
            idempotency_key=key,
        )
    )


def test_a_retried_authorization_returns_the_first_answer_and_records_it_once():
    first = _authorize("pay_test:authorize:1")
    again = _authorize("pay_test:authorize:1")

    assert first.outcome == Outcome.SUCCEEDED
    assert again == first
    (operation,) = SandboxOperation.objects.filter(idempotency_key="pay_test:authorize:1")
    assert (operation.operation, operation.amount, operation.currency) == ("sale", 500, "EUR")
    assert operation.result["reference"] == first.reference


def test_a_retried_decline_stays_the_same_decline():
    first = _authorize("pay_test:authorize:2", number="4000000000009995")
    again = _authorize("pay_test:authorize:2", number="4000000000009995")

    assert (again.outcome, again.decline_code) == (Outcome.DECLINED, "insufficient_funds")
    assert again.reference == first.reference


def test_retrieve_answers_with_the_latest_operation_on_a_charge():
    sale = _authorize("pay_test:authorize:3")
    refund = SandboxGateway().refund(
        reference=sale.reference, amount=200, currency="EUR", idempotency_key="pay_test:refund:1"
    )

    assert SandboxGateway().retrieve(reference=sale.reference) == refund
    assert SandboxGateway().retrieve(reference="sbx_unknown") is None
