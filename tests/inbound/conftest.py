# The PayPal sandbox answers verify-webhook-signature for the PayPal webhook tests.
from tests.gateways.paypal.conftest import paypal_sandbox  # noqa: F401
