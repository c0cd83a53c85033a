"""The card requests the PayPal adapter's tests share."""

from payments.gateways.interface import AuthorizeRequest, GatewayCard

VISA = "4242424242424242"
ISSUER_DECLINED = "4000000000009995"  # PayPal answers with a DECLINED capture (insufficient funds)
# Digits that cannot turn up by chance in a PayPal debug id or our own ids.
SECURITY_CODE = "7391"


def card_request(
    key: str = "pay_1:authorize:1",
    number: str = VISA,
    *,
    amount: int = 1050,
    currency: str = "USD",
    capture: bool = True,
    three_d_secure: bool = False,
    exp_year: int = 2030,
) -> AuthorizeRequest:
    return AuthorizeRequest(
        payment_id=key.split(":")[0],
        amount=amount,
        currency=currency,
        card=GatewayCard(number, 12, exp_year, SECURITY_CODE),
        capture=capture,
        idempotency_key=key,
        three_d_secure=three_d_secure,
    )
