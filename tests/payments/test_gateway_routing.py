"""Routing: which gateway a payment goes to (preference, rules, breakers, success rate), and
failover to the next one only when the first certainly did not charge."""

from collections import Counter

import pytest

from audit.models import AuditLog
from payments.gateways.interface import (
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
)
from payments.gateways.sandbox import SandboxGateway
from payments.models import BreakerOverride, Payment, SandboxOperation, Transaction
from payments.services import gateway_calls
from payments.services.breakers import breaker_override, breaker_record
from payments.services.gateway_accounts import gateway_account_save
from payments.services.routing import route
from tests.conftest import create_payment

pytestmark = pytest.mark.django_db


class FakeRemote:
    """A gateway that is not the sandbox, behaving as told (it speaks no HTTP: routing is
    what is under test here; the real adapters have their own tests)."""

    def __init__(self, name: str, behaviour: str) -> None:
        self.name, self.behaviour, self.calls = name, behaviour, 0

    def authorize(self, request):
        self.calls += 1
        if self.behaviour == "unavailable":
            raise GatewayUnavailableError("connection refused")
        if self.behaviour == "timeout":
            raise GatewayTimeoutError("read timed out")
        if self.behaviour == "decline":
            return GatewayResult(
                Outcome.DECLINED, "fake_1", request.amount, "card_declined", "do_not_honor", "No"
            )
        return GatewayResult(Outcome.SUCCEEDED, "fake_ok", request.amount)


@pytest.fixture
def remotes(monkeypatch):
    """Accounts for `stripe` and `paypal` served by fakes; the sandbox stays the sandbox."""
    fakes: dict[str, FakeRemote] = {}
    real_gateway_for = gateway_calls.gateway_for

    def fake_gateway_for(owner):
        return fakes[owner.gateway] if owner.gateway in fakes else real_gateway_for(owner)

    monkeypatch.setattr(gateway_calls, "gateway_for", fake_gateway_for)
    return fakes


def accounts(merchant, **priorities: int) -> None:
    for gateway, priority in priorities.items():
        gateway_account_save(
            merchant=merchant, gateway=gateway, priority=priority, credentials=None
        )


def test_a_merchant_without_accounts_uses_its_default_gateway(merchant):
    assert route(merchant=merchant, livemode=False, amount=100, currency="USD") == ["sandbox"]


def test_accounts_are_tried_by_priority(merchant):
    accounts(merchant, paypal=2, stripe=1, sandbox=3)

    assert route(merchant=merchant, livemode=False, amount=100, currency="USD") == [
        "stripe",
        "paypal",
        "sandbox",
    ]


def test_rules_decide_which_accounts_may_take_a_payment(merchant):
    gateway_account_save(merchant=merchant, gateway="stripe", priority=1, currencies=["USD"])
    gateway_account_save(
        merchant=merchant, gateway="paypal", priority=2, min_amount=1000, max_amount=50000
    )
    gateway_account_save(merchant=merchant, gateway="sandbox", priority=3, card_brands=["amex"])

    def routed(amount, currency, brand="visa"):
        return route(
            merchant=merchant, livemode=False, amount=amount, currency=currency, card_brand=brand
        )

    assert routed(500, "USD") == ["stripe"]
    assert routed(5000, "EUR") == ["paypal"]
    assert routed(5000, "USD", brand="amex") == ["stripe", "paypal", "sandbox"]
    assert routed(100, "EUR") == ["sandbox"]  # nothing matches: the merchant's default


def test_issuer_country_rules_use_the_bin_ranges(merchant):
    from fraud.models import BinRange

    BinRange.objects.create(prefix="424242", country="US")
    gateway_account_save(merchant=merchant, gateway="stripe", priority=1, card_countries=["GB"])
    gateway_account_save(merchant=merchant, gateway="paypal", priority=2, card_countries=["US"])

    assert route(
        merchant=merchant, livemode=False, amount=100, currency="USD", card_bin="42424242"
    ) == ["paypal"]


def test_disabled_accounts_and_the_other_mode_are_never_used(merchant):
    gateway_account_save(merchant=merchant, gateway="stripe", priority=1, enabled=False)
    gateway_account_save(merchant=merchant, gateway="paypal", priority=1, livemode=True)

    assert route(merchant=merchant, livemode=False, amount=100, currency="USD") == ["sandbox"]


def test_gateways_with_an_open_breaker_are_skipped_unless_all_are_open(merchant):
    accounts(merchant, stripe=1, paypal=2)
    breaker_override("stripe", BreakerOverride.FORCED_OPEN)

    assert route(merchant=merchant, livemode=False, amount=100, currency="USD") == ["paypal"]

    breaker_override("paypal", BreakerOverride.FORCED_OPEN)
    assert route(merchant=merchant, livemode=False, amount=100, currency="USD") == ["stripe"]


def test_equal_priorities_favour_the_better_success_rate_but_still_probe_the_worse(merchant):
    accounts(merchant, stripe=1, paypal=1)
    for _ in range(19):
        breaker_record("paypal", succeeded=True)
        breaker_record("stripe", succeeded=False)
    breaker_override("stripe", BreakerOverride.FORCED_CLOSED)  # keep the breaker out of it

    firsts = Counter(
        route(merchant=merchant, livemode=False, amount=100, currency="USD")[0] for _ in range(1000)
    )

    assert firsts["paypal"] > 800
    assert firsts["stripe"] > 30  # the floor: a recovering gateway still gets traffic


def test_an_unreachable_first_gateway_fails_over_and_the_payment_completes(
    merchant, api_client, remotes, gateway_calls
):
    accounts(merchant, stripe=1, sandbox=2)
    remotes["stripe"] = FakeRemote("stripe", "unavailable")

    response = create_payment(api_client)

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway, payment.attempt_count) == ("COMPLETED", "sandbox", 2)
    ledger = list(
        Transaction.objects.filter(payment=payment)
        .order_by("created_at")
        .values_list("gateway", "status", "idempotency_key")
    )
    assert ledger == [
        ("stripe", "FAILED", f"{payment.id}:authorize:1"),
        ("sandbox", "SUCCEEDED", f"{payment.id}:authorize:2"),
    ]
    assert SandboxOperation.objects.filter(idempotency_key=f"{payment.id}:authorize:2").exists()
    failover = AuditLog.objects.get(action="payment.failover", resource_id=payment.id)
    assert (failover.old_value["gateway"], failover.new_value["gateway"]) == ("stripe", "sandbox")
    assert gateway_calls.inside_transaction == []


def test_a_timeout_never_fails_over_the_payment_stays_processing(merchant, api_client, remotes):
    accounts(merchant, stripe=1, sandbox=2)
    remotes["stripe"] = FakeRemote("stripe", "timeout")

    response = create_payment(api_client)

    assert response.status_code == 202
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway) == ("PROCESSING", "stripe")
    assert not SandboxOperation.objects.exists()


def test_a_decline_never_fails_over(merchant, api_client, remotes):
    accounts(merchant, stripe=1, sandbox=2)
    remotes["stripe"] = FakeRemote("stripe", "decline")

    response = create_payment(api_client)

    assert response.status_code == 402
    assert Payment.objects.get().gateway == "stripe"
    assert not SandboxOperation.objects.exists()


def test_when_every_gateway_is_unreachable_the_payment_fails_as_unavailable(
    merchant, api_client, remotes, monkeypatch
):
    accounts(merchant, stripe=1, paypal=2)
    remotes["stripe"] = FakeRemote("stripe", "unavailable")
    remotes["paypal"] = FakeRemote("paypal", "unavailable")

    response = create_payment(api_client)

    assert response.status_code == 503
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway, payment.attempt_count) == ("FAILED", "paypal", 2)
    assert remotes["stripe"].calls == remotes["paypal"].calls == 1


def test_follow_up_operations_use_the_gateway_the_payment_is_on(merchant, api_client, monkeypatch):
    refunds = []
    monkeypatch.setattr(
        SandboxGateway,
        "refund",
        lambda self, **kwargs: (
            refunds.append(kwargs) or GatewayResult(Outcome.SUCCEEDED, "sbx_re_x", kwargs["amount"])
        ),
    )
    paid = create_payment(api_client).json()["id"]
    accounts(merchant, stripe=1)  # routing changed after the payment: its refund stays put

    response = api_client.post(
        f"/api/v1/payments/{paid}/refunds", {"reason": "duplicate"}, format="json"
    )

    assert response.status_code == 201
    assert len(refunds) == 1
