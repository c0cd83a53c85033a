"""Calling a gateway from a service: never inside a database transaction, never through an
open circuit breaker, always timed, and with the gateway's failure as a value the caller
records instead of an exception."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from payments.gateways.interface import (
    Gateway,
    GatewayError,
    GatewayResult,
    GatewayUnavailableError,
)
from payments.services.breakers import breaker_record, breaker_view
from payments.services.routing import GatewayOwner, gateway_for


class BreakerOpenError(GatewayUnavailableError):
    """Not sent: the gateway's circuit breaker is open."""

    code = "gateway_circuit_open"
    public_message = "The gateway is unavailable (circuit breaker open); nothing was charged."


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
    owner: GatewayOwner, operation: str, call: Callable[[Gateway], GatewayResult | None]
) -> GatewayCall:
    """Run `call` against the gateway `owner` (a payment or refund) is on. Refuses to run
    inside a transaction: a row lock held across a network call would stall every other
    writer of that row."""
    if in_transaction():
        raise RuntimeError(f"gateway {operation} called inside a database transaction")
    breaker = breaker_view(owner.gateway)
    if not breaker.allows(timezone.now()):
        return GatewayCall(None, BreakerOpenError(owner.gateway), 0)
    started = time.monotonic()
    try:
        result, error = call(gateway_for(owner)), None
    except GatewayError as exc:
        result, error = None, exc
    breaker_record(owner.gateway, succeeded=error is None, seen=breaker)
    return GatewayCall(result, error, int((time.monotonic() - started) * 1000))
