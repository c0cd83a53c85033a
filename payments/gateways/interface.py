"""The gateway boundary: request/result contracts and one error taxonomy.

Declines are results (the gateway answered); errors are exceptions (it did not, or we cannot
tell). Provider modules are the only places that import a provider SDK.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class GatewayCard:
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(default="", repr=False)


@dataclass(frozen=True)
class AuthorizeRequest:
    payment_id: str
    amount: int
    currency: str
    card: GatewayCard
    capture: bool
    idempotency_key: str
    description: str = ""
    # Ask the issuer to authenticate the cardholder (3-D Secure) whatever the card's default:
    # how "require additional verification" from fraud screening reaches the gateway.
    three_d_secure: bool = False


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    # Accepted but not settled yet (a refund the processor completes later): recovery or a
    # webhook settles it.
    PENDING = "pending"


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    reference: str
    amount: int
    error_code: str = ""
    decline_code: str = ""
    message: str = ""
    retryable: bool = False
    next_action: dict[str, Any] | None = None


@dataclass(frozen=True)
class SettlementRecord:
    """One money movement as the gateway's books show it, for reconciliation: a captured
    charge (sale or capture) or a refund. `reference` is the id our ledger row carries."""

    reference: str
    kind: str  # "charge" | "refund"
    amount: int
    currency: str  # ISO-4217, uppercase
    status: str  # "succeeded" | "pending" | "failed"
    created_at: datetime


@dataclass(frozen=True)
class GatewayEvent:
    """A verified gateway webhook, in our vocabulary: which of our objects it is about and
    what state the gateway says it is in. Providers' modules build these; payments applies
    them the same way whatever the provider."""

    event_id: str
    event_type: str  # the provider's own type, e.g. payment_intent.succeeded
    object_kind: str  # "payment" | "refund" | "dispute" | "" (not something we act on)
    reference: str = ""  # the object's id at the gateway
    payment_reference: str = ""  # the charge a refund or dispute belongs to
    our_id: str = ""  # our id for the object (pay_…, re_…) when the gateway echoes it back
    status: str = ""  # PaymentStatus / RefundStatus value, or the dispute's status
    amount: int = 0
    currency: str = ""
    error_code: str = ""
    error_message: str = ""
    next_action: dict[str, Any] | None = None
    dispute_reason: str = ""
    evidence_due_by: datetime | None = None
    # Other ids the gateway knows a payment by, which our record may still carry (PayPal: a
    # capture's authorization and order, until our record learns the capture's id).
    related_references: tuple[str, ...] = ()


class WebhookSignatureError(Exception):
    """A webhook whose signature is missing, malformed, stale or wrong: not processed."""


class WebhookVerificationUnavailable(Exception):
    """A webhook whose signature could not be checked (the provider's verification service
    did not answer): neither accepted nor refused, so the provider delivers it again."""


class GatewayError(Exception):
    """The gateway did not give an answer we can act on. `public_message` is what merchants
    and operators see; the exception's own text is for logs only."""

    code = "gateway_error"
    public_message = "The gateway could not be reached; nothing was charged."


class GatewayUnavailableError(GatewayError):
    """Certainly not processed (connection refused, 5xx before acceptance, breaker open):
    safe to fail over."""

    code = "gateway_unavailable"


class GatewayNoRecordError(GatewayUnavailableError):
    """Recovery asked and the gateway has no record of the operation: it never happened."""

    code = "gateway_no_record"
    public_message = "The gateway has no record of this operation; nothing was charged."


class GatewayTimeoutError(GatewayError):
    """Sent but unanswered: the charge may exist. Never fail over; recovery asks later."""

    code = "gateway_timeout"


class Gateway(Protocol):
    name: str

    def authorize(self, request: AuthorizeRequest) -> GatewayResult: ...

    def capture(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult: ...

    def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        """Refund part or all of the captured charge `reference`. The result's `reference` is
        the refund's own id at the gateway."""
        ...

    def retrieve(self, *, reference: str) -> GatewayResult | None: ...

    def lookup(
        self, *, operation: str, idempotency_key: str, reference: str = ""
    ) -> GatewayResult | None:
        """What the gateway recorded for the `operation` ("authorize", "capture", "void",
        "refund") we sent under `idempotency_key`; `reference` is the charge's reference when
        we know it (always, except for an authorization whose answer we never stored).
        Recovery settles a PROCESSING payment or refund with this. None: the gateway has no
        record of the operation, so it never happened."""
        ...

    def settlement_records(self, *, start: datetime, end: datetime) -> list[SettlementRecord]:
        """Every charge captured and refund made in [start, end), from the gateway's side."""
        ...

    def verify_credentials(self) -> str:
        """A harmless read call with the configured credentials; returns what it saw (an
        account id, say). Raises GatewayError when the credentials do not work."""
        ...
