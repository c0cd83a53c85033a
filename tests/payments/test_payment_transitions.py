import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import transaction

from payments.errors import StateConflict
from payments.gateways.sandbox import SandboxGateway
from payments.models import PAYMENT_TRANSITIONS, Payment, PaymentStatus
from payments.services.gateway_calls import gateway_call
from tests.conftest import PAYMENTS_URL, create_payment
from tests.payments.factories import PaymentFactory

S = PaymentStatus
TERMINAL = [S.COMPLETED, S.FAILED, S.CANCELLED]
ILLEGAL_MOVES = [
    (current, target)
    for current in S.values
    for target in S.values
    if target not in PAYMENT_TRANSITIONS[current]
]


@pytest.mark.parametrize("terminal", TERMINAL)
@pytest.mark.parametrize("target", S.values)
def test_terminal_states_stay_terminal(terminal, target):
    payment = Payment(status=terminal)

    with pytest.raises(StateConflict):
        payment.transition_to(target)

    assert payment.status == terminal


@pytest.mark.parametrize(("current", "target"), ILLEGAL_MOVES)
def test_illegal_transition_raises_state_conflict_and_changes_nothing(current, target):
    payment = Payment(status=current)

    with pytest.raises(StateConflict) as raised:
        payment.transition_to(target)

    assert payment.status == current
    assert raised.value.code == "payment_unexpected_state"
    assert raised.value.http_status == 409


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.PROCESSING),
        (S.PROCESSING, S.AUTHORIZED),
        (S.PROCESSING, S.COMPLETED),
        (S.PROCESSING, S.FAILED),
        (S.PROCESSING, S.REQUIRES_ACTION),
        (S.AUTHORIZED, S.PROCESSING),
        (S.AUTHORIZED, S.CANCELLED),
        (S.REQUIRES_ACTION, S.COMPLETED),
        (S.UNDER_REVIEW, S.PROCESSING),
    ],
)
def test_legal_transition_moves_the_payment(current, target):
    payment = Payment(status=current)

    payment.transition_to(target)

    assert payment.status == target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.COMPLETED, S.AUTHORIZED),
        (S.FAILED, S.COMPLETED),
        (S.CANCELLED, S.PROCESSING),
        (S.AUTHORIZED, S.FAILED),
        (S.AUTHORIZED, S.PENDING),
        (S.PENDING, S.COMPLETED),
    ],
)
def test_well_known_illegal_moves_are_refused(current, target):
    assert not Payment(status=current).can_transition_to(target)


def test_refused_transition_leaves_the_stored_row_unchanged(merchant):
    payment = PaymentFactory(merchant=merchant, status=S.COMPLETED)

    with pytest.raises(StateConflict):
        payment.transition_to(S.FAILED)

    assert Payment.objects.get(pk=payment.pk).status == S.COMPLETED
    assert payment.status == S.COMPLETED


def test_capture_and_cancel_predicates_follow_the_status():
    assert Payment(status=S.AUTHORIZED).can_capture()
    assert not any(
        Payment(status=status).can_capture() for status in S.values if status != "AUTHORIZED"
    )
    cancellable = {status for status in S.values if Payment(status=status).can_cancel()}
    assert cancellable == {S.PENDING, S.UNDER_REVIEW, S.AUTHORIZED, S.REQUIRES_ACTION}


def test_only_the_model_assigns_a_payment_status():
    """Every status change goes through Payment.transition_to: no other module in the
    payments app assigns `<object>.status = …` directly. (Webhook logs, disputes and approval
    requests are not payment states: what happened to a request, or the gateway's word.)"""
    not_payments = {"log", "dispute", "approval"}
    offenders = []
    for path in (Path(settings.BASE_DIR) / "payments").rglob("*.py"):
        if path.name == "models.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            offenders += [
                f"{path.name}:{node.lineno}"
                for target in targets
                if isinstance(target, ast.Attribute)
                and target.attr == "status"
                and not (isinstance(target.value, ast.Name) and target.value.id in not_payments)
            ]
    assert offenders == []


SANDBOX_OWNER = SimpleNamespace(merchant_id="mer_none", gateway="sandbox", livemode=False)


@pytest.mark.django_db(transaction=True)
def test_gateway_call_inside_a_database_transaction_raises():
    calls = []

    with transaction.atomic(), pytest.raises(RuntimeError, match="inside a database transaction"):
        gateway_call(SANDBOX_OWNER, "retrieve", lambda gateway: calls.append(gateway))

    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_gateway_call_outside_a_transaction_runs():
    result = gateway_call(
        SANDBOX_OWNER, "retrieve", lambda gateway: gateway.retrieve(reference="sbx_unknown")
    )

    assert result.error is None
    assert result.result is None
    assert result.latency_ms >= 0


def test_create_capture_and_cancel_call_the_gateway_outside_any_transaction(
    api_client, gateway_calls
):
    captured_id = create_payment(api_client, capture_method="manual").json()["id"]
    api_client.post(f"{PAYMENTS_URL}/{captured_id}/capture", {}, format="json")
    cancelled_id = create_payment(api_client, capture_method="manual").json()["id"]
    api_client.post(f"{PAYMENTS_URL}/{cancelled_id}/cancel", {}, format="json")

    assert gateway_calls.counts == {"authorize": 2, "capture": 1, "void": 1}
    assert gateway_calls.inside_transaction == []


def test_payment_is_recorded_as_processing_before_the_gateway_is_called(api_client, monkeypatch):
    seen = []
    original = SandboxGateway.authorize

    def authorize(self, request):
        seen.append(Payment.objects.get(pk=request.payment_id).status)
        return original(self, request)

    monkeypatch.setattr(SandboxGateway, "authorize", authorize)

    create_payment(api_client)

    assert seen == [S.PROCESSING]
