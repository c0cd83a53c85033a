"""The test cards and gateway calls the Stripe adapter's tests share."""

import uuid

from payments.gateways.interface import AuthorizeRequest, GatewayCard, GatewayResult
from payments.gateways.stripe_gateway import StripeGateway

VISA = "4242424242424242"
THREE_DS_REQUIRED = "4000002760003184"
# localstripe declines only when charging 4000000000000341 (and two 3DS cards after
# authentication); Stripe's other decline numbers it declines only when attached to a customer.
DECLINED_WHEN_CHARGED = "4000000000000341"


def new_key(operation: str) -> str:
    return f"pay_{uuid.uuid4().hex[:12]}:{operation}:1"


def authorize_card(
    gateway: StripeGateway,
    *,
    number: str = VISA,
    capture: bool = True,
    amount: int = 500,
    key: str = "",
    three_d_secure: bool = False,
) -> GatewayResult:
    return gateway.authorize(
        AuthorizeRequest(
            payment_id="pay_test",
            amount=amount,
            currency="EUR",
            card=GatewayCard(number, 12, 2030, "123"),
            capture=capture,
            idempotency_key=key or new_key("authorize"),
            three_d_secure=three_d_secure,
        )
    )


def refund_charge(gateway: StripeGateway, reference: str, amount: int, key: str) -> GatewayResult:
    return gateway.refund(reference=reference, amount=amount, currency="EUR", idempotency_key=key)
