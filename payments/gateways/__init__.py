"""Gateway registry: the one place that maps a provider name to its implementation.

The sandbox needs no account; Stripe and PayPal are built from a merchant's gateway account
(credentials and optional API address), and their modules are imported only then.
"""

from typing import Any

from payments.gateways.interface import Gateway
from payments.gateways.sandbox import SandboxGateway

SANDBOX = SandboxGateway()


def gateway_build(provider: str, credentials: dict[str, Any], api_base: str = "") -> Gateway:
    """A client for `provider` with an account's credentials."""
    if provider == "sandbox":
        return SANDBOX
    if provider == "stripe":
        from payments.gateways.stripe_gateway import StripeGateway

        return StripeGateway(credentials["api_key"], api_base=api_base or None)
    if provider == "paypal":
        from payments.gateways.paypal_gateway import PayPalGateway

        extra = {"api_base": api_base} if api_base else {}
        return PayPalGateway(credentials["client_id"], credentials["client_secret"], **extra)
    raise ValueError(f"unknown gateway provider {provider!r}")


# What each provider's credentials hold (the admin form and the API validate against it).
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "sandbox": (),
    "stripe": ("api_key",),
    "paypal": ("client_id", "client_secret"),
}
