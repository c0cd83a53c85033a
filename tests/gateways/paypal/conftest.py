"""The PayPal gateway wired to a local stand-in for PayPal's sandbox (tests/fakes)."""

from collections.abc import Iterator

import pytest

from payments.gateways.paypal_gateway import PayPalGateway
from tests.fakes.paypal_sandbox import CLIENT_ID, CLIENT_SECRET, PayPalSandbox


@pytest.fixture
def paypal_sandbox() -> Iterator[PayPalSandbox]:
    """The sandbox, listening on a free loopback port, for its state and knobs."""
    sandbox = PayPalSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def paypal_url(paypal_sandbox: PayPalSandbox) -> str:
    return paypal_sandbox.url


@pytest.fixture
def paypal(paypal_url: str) -> PayPalGateway:
    return PayPalGateway(CLIENT_ID, CLIENT_SECRET, api_base=paypal_url, timeout_seconds=5.0)
