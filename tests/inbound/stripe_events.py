"""Stripe-shaped webhook events, signed the way Stripe signs them (stripe-python has no
public helper): `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`."""

import hashlib
import hmac
import itertools
import json
import time

SECRET = "whsec_test_inbound_secret"
_ids = itertools.count(1)


def event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_ids)}_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def payment_intent(reference: str, status: str, *, amount: int = 1000, **extra) -> dict:
    return {
        "id": reference,
        "object": "payment_intent",
        "status": status,
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": "usd",
        "metadata": {},
        **extra,
    }


def signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def post(client, payload: dict, *, signature: str | None = None, secret: str = SECRET):
    body = json.dumps(payload).encode()
    headers = (
        {}
        if signature == ""
        else {
            "HTTP_STRIPE_SIGNATURE": signature
            if signature is not None
            else signed(body, secret=secret)
        }
    )
    return client.post("/webhooks/stripe", body, content_type="application/json", **headers)
