"""Calling a gateway from a service: never inside a database transaction, always timed, and
with the gateway's failure as a value the caller records instead of an exception."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from payments.gateways import gateway_get
from payments.gateways.interface import Gateway, GatewayError, GatewayResult


@dataclass(frozen=True)
class GatewayCall:
    """What came back from one gateway call: a result, or the error that replaced it."""

    result: GatewayResult | None
    error: GatewayError | None
    latency_ms: int


def in_transaction() -> bool:
    """Whether a database transaction is open. Test cases wrap each test in atomic blocks of
    their own; those do not count."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def gateway_call(
    gateway_name: str, operation: str, call: Callable[[Gateway], GatewayResult]
) -> GatewayCall:
    """Run `call` against the named gateway. Refuses to run inside a transaction: a row lock
    held across a network call would stall every other writer of that row."""
    if in_transaction():
        raise RuntimeError(f"gateway {operation} called inside a database transaction")
    started = time.monotonic()
    try:
        result, error = call(gateway_get(gateway_name)), None
    except GatewayError as exc:
        result, error = None, exc
    return GatewayCall(result, error, int((time.monotonic() - started) * 1000))
