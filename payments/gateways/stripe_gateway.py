"""Stripe through the official SDK's `StripeClient`: a charge is a PaymentIntent, a refund a
Refund, and every failure leaves as the error taxonomy of interface.py.

The only module that imports `stripe`. Its tests run against localstripe, a Stripe look-alike
whose gaps shape a few choices below; each is noted where it applies.
"""

import hashlib
import hmac
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import stripe
import urllib3

from config.logging import scrub_card_numbers
from payments.gateways.interface import (
    AuthorizeRequest,
    GatewayError,
    GatewayEvent,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
    SettlementRecord,
    WebhookSignatureError,
)

T = TypeVar("T")

# What ties a Stripe object back to us when the answer to its request was lost.
METADATA_PAYMENT_ID = "paydesk_payment_id"
METADATA_IDEMPOTENCY_KEY = "paydesk_idempotency_key"

# Without the Search API, finding an authorization by its key means reading PaymentIntents
# one page after another. Past this many an absent key proves nothing, so the lookup fails
# instead of answering "no record" (which recovery would take as "it never happened").
LIST_SCAN_LIMIT = 1000
# Stripe filters settlement listings by `created`; localstripe cannot, so there each listing is
# read whole, at most this many objects. Past it the call fails rather than answer from part of
# the listing: reconciliation would report every movement it left out as missing.
SETTLEMENT_SCAN_LIMIT = 10_000
_PAGE_SIZE = 100

# A Refund's status as reconciliation compares it. A canceled refund moved no money, and a
# status Stripe adds later is flagged ("failed" is a difference an operator looks at) rather
# than passed over as "pending".
_REFUND_SETTLEMENT_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}

# Declines that may pass on a later try (Stripe's code or decline code).
_RETRYABLE_DECLINES = frozenset({"processing_error", "try_again_later"})

# Evidence for telling "nothing was sent" from "sent, then no answer" (stripe 16.1,
# `RequestsClient._handle_request_error`, and tried against a closed port, an unresolvable host,
# a listener that never answers and a server that hangs up): every network failure surfaces as
# `stripe.APIConnectionError` with `should_retry=True` and the same "Unexpected error
# communicating with Stripe" text, so neither tells them apart. Its `__cause__`, the requests
# exception, does:
#   refused  ConnectionError > MaxRetryError > NewConnectionError > ConnectionRefusedError
#   DNS      ConnectionError > MaxRetryError > NameResolutionError > gaierror
#   silent   ReadTimeout > ReadTimeoutError > TimeoutError
#   hang-up  ConnectionError > ProtocolError > RemoteDisconnected
# Only a failure to open the connection proves nothing left (urllib3's NewConnectionError and
# NameResolutionError are ConnectTimeoutErrors, as is a connect timeout). Anything else, a
# hang-up or a TLS error included, may come after the request was sent: ambiguous.
_CONNECT_FAILURES = (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)


class _DropRequestBodies(logging.Filter):
    """stripe-python logs every request's form body at DEBUG ("Post details"); for a
    PaymentMethod that is the card number and CVC. Drop those records whatever the configured
    level. (STRIPE_LOG=debug also prints them to stderr, outside logging: never set it.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        return "message='Post details'" not in record.getMessage()


logging.getLogger("stripe").addFilter(_DropRequestBodies())


class StripeObjectMissingError(GatewayUnavailableError):
    """Stripe answered 404: no such object (or, from localstripe, no such endpoint)."""


class _CreatedFilterRefused(Exception):
    """The server lists objects but refuses to filter them by `created` (localstripe)."""


class StripeGateway:
    """Charges cards through PaymentIntents. Stripe stores the outcome of each write under our
    idempotency key for 24 hours, so a retry of the same call cannot charge twice; each object
    also carries the key in its metadata, which is how `lookup` finds it later."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float = 10.0,
        name: str = "stripe",
    ) -> None:
        self.name = name
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
            # Our callers retry (with the same key) and recovery asks later: a hidden SDK retry
            # would stretch one call past the timeout the caller planned for.
            max_network_retries=0,
        )

    def authorize(self, request: AuthorizeRequest) -> GatewayResult:
        """Create a PaymentMethod from the card, then a confirmed PaymentIntent with it."""
        try:
            intent = self._create_intent(request)
        except stripe.CardError as error:
            return self._declined(error, request.amount)
        except stripe.StripeError as error:
            raise _gateway_error("authorize", error) from error
        return _intent_result(intent)

    def _create_intent(self, request: AuthorizeRequest) -> dict[str, Any]:
        card = request.card
        # Raw card numbers need an account with raw card data APIs enabled (PCI SAQ D);
        # localstripe takes them. localstripe also insists on a 3-digit CVC, while Stripe
        # accepts a card without one (a vaulted card has none), so the CVC goes only when known.
        card_params: dict[str, Any] = {
            "number": card.number,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        }
        if card.cvc:
            card_params["cvc"] = card.cvc
        payment_method = self._client.v1.payment_methods.create(
            params={"type": "card", "card": card_params},
            # A key is single-use per endpoint and parameters: the PaymentMethod gets its own.
            options={"idempotency_key": f"{request.idempotency_key}:payment_method"},
        )
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": payment_method.id,
            # Without it, API versions since 2023-08-16 enable automatic payment methods and
            # then refuse to confirm without a return_url.
            "payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "automatic" if request.capture else "manual",
            "metadata": {
                METADATA_PAYMENT_ID: request.payment_id,
                METADATA_IDEMPOTENCY_KEY: request.idempotency_key,
            },
        }
        # localstripe refuses `description` (400 "Unexpected description"): it goes only when
        # there is one, so payments without a description work against localstripe.
        if request.description:
            params["description"] = request.description
        # localstripe accepts this option but ignores it: only its 3DS test cards ask for
        # authentication there.
        if request.three_d_secure:
            params["payment_method_options"] = {"card": {"request_three_d_secure": "any"}}
        intent = self._client.v1.payment_intents.create(
            params=params, options={"idempotency_key": request.idempotency_key}
        )
        return intent.to_dict()

    def _declined(self, error: stripe.CardError, amount: int) -> GatewayResult:
        """A card error is the issuer's answer: a DECLINED result on the PaymentIntent it
        failed. Stripe names that intent in the error; localstripe names only the charge; a
        card refused while creating its PaymentMethod has no intent (reference "")."""
        body = (error.json_body or {}).get("error") or {}
        reference = (body.get("payment_intent") or {}).get("id", "")
        if not reference and body.get("charge"):
            charge = self._send(
                "authorize", lambda: self._client.v1.charges.retrieve(body["charge"])
            )
            reference = charge.payment_intent or ""
        return _declined_result(reference, amount, body)

    def capture(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        """Capture `amount` of the authorized PaymentIntent `reference` (in its own currency;
        Stripe releases the rest)."""
        intent = self._send(
            "capture",
            lambda: self._client.v1.payment_intents.capture(
                reference,
                params={"amount_to_capture": amount},
                options={"idempotency_key": idempotency_key},
            ),
        ).to_dict()
        result = _intent_result(intent)
        # Stripe captures exactly amount_to_capture or refuses; localstripe, lacking
        # amount_received, would otherwise report the authorized amount.
        return replace(result, amount=amount) if result.outcome == Outcome.SUCCEEDED else result

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        """Cancel the uncaptured PaymentIntent `reference`, releasing the hold."""
        intent = self._send(
            "void",
            lambda: self._client.v1.payment_intents.cancel(
                reference, options={"idempotency_key": idempotency_key}
            ),
        ).to_dict()
        return _void_result(intent)

    def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        """Refund `amount` of the PaymentIntent `reference` (Stripe refunds in the charge's
        currency); the result's reference is the Refund's id."""
        refund = self._send(
            "refund",
            lambda: self._client.v1.refunds.create(
                params={
                    "payment_intent": reference,
                    "amount": amount,
                    "metadata": {METADATA_IDEMPOTENCY_KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            ),
        ).to_dict()
        return _refund_result(refund)

    def retrieve(self, *, reference: str) -> GatewayResult | None:
        intent = self._intent_or_none("retrieve", reference)
        return _intent_result(intent) if intent else None

    def lookup(
        self, *, operation: str, idempotency_key: str, reference: str = ""
    ) -> GatewayResult | None:
        """Authorizations and refunds are found by the key in their metadata; a capture or a
        void shows in its PaymentIntent's status (captured, cancelled) or did not happen."""
        if operation == "authorize":
            return self._lookup_authorization(idempotency_key, reference)
        if not reference:
            raise ValueError(f"a Stripe {operation} lookup needs the PaymentIntent reference")
        if operation == "refund":
            refund = self._find_with_key(
                lambda: self._client.v1.refunds.list(
                    params={"payment_intent": reference, "limit": _PAGE_SIZE}
                ),
                idempotency_key,
            )
            return _refund_result(refund) if refund else None
        if operation not in ("capture", "void"):
            raise ValueError(f"unknown gateway operation {operation!r}")
        intent = self._intent_or_none("lookup", reference)
        if intent is None:
            return None
        if operation == "capture":
            return _intent_result(intent) if intent["status"] == "succeeded" else None
        return _void_result(intent) if intent["status"] == "canceled" else None

    def _lookup_authorization(self, idempotency_key: str, reference: str) -> GatewayResult | None:
        if reference:
            intent = self._intent_or_none("lookup", reference)
            # A reference from an earlier attempt says nothing about this attempt's key.
            if intent and intent["metadata"].get(METADATA_IDEMPOTENCY_KEY) == idempotency_key:
                return _intent_result(intent)
        quoted_key = idempotency_key.replace("\\", "\\\\").replace('"', '\\"')
        try:
            # Search is eventually consistent (about a minute behind); recovery asks minutes
            # after the fact.
            intent = self._find_with_key(
                lambda: self._client.v1.payment_intents.search(
                    params={
                        "query": f'metadata["{METADATA_IDEMPOTENCY_KEY}"]:"{quoted_key}"',
                        "limit": _PAGE_SIZE,
                    }
                ),
                idempotency_key,
            )
        except StripeObjectMissingError:
            # localstripe has no Search API (its router answers 404). Fall back to reading the
            # list, at most LIST_SCAN_LIMIT intents: Stripe lists newest first, localstripe
            # oldest first, so there a long-running instance eventually cannot answer.
            intent = self._find_with_key(
                lambda: self._client.v1.payment_intents.list(params={"limit": _PAGE_SIZE}),
                idempotency_key,
            )
        return _intent_result(intent) if intent else None

    def settlement_records(self, *, start: datetime, end: datetime) -> list[SettlementRecord]:
        """Captured PaymentIntents created in [start, end), a charge each under the
        PaymentIntent id (our ledger's reference for sales and captures) for the amount
        received, and the Refunds created in it. A PaymentIntent counts from its creation: it
        carries no capture time."""
        created = _created_window(start, end)
        try:
            intents = self._list_created_in(self._client.v1.payment_intents.list, created)
            refunds = self._list_created_in(self._client.v1.refunds.list, created)
        except _CreatedFilterRefused:
            intents, refunds = self._read_back_unfiltered(created)
        charges = [_charge_record(intent) for intent in intents if intent["status"] == "succeeded"]
        return charges + [_refund_record(refund) for refund in refunds]

    def _list_created_in(
        self, list_page: Callable[..., Any], created: dict[str, int]
    ) -> list[dict[str, Any]]:
        try:
            first_page = self._send(
                "settlement_records",
                lambda: list_page(params={"created": created, "limit": _PAGE_SIZE}),
            )
        except GatewayUnavailableError as error:
            if _refuses_created_filter(error.__cause__):
                raise _CreatedFilterRefused from error
            raise
        return self._send(
            "settlement_records", lambda: [item.to_dict() for item in first_page.auto_paging_iter()]
        )

    def _read_back_unfiltered(
        self, created: dict[str, int]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """localstripe's PaymentIntents and Refunds, filtered here and put in Stripe's shape.

        Its PaymentIntent listing refuses `created` (400 "Unexpected created"); its Refund
        listing fails on it with a 500 we cannot tell from Stripe's own, so the PaymentIntents'
        answer decides for both. It also has no amount_received, and books a partial capture as
        a capture of the whole authorization plus a Refund of the rest, one without a
        PaymentIntent: that Refund lowers the amount received and is no refund of ours."""
        intents = self._read_whole(self._client.v1.payment_intents.list)
        refunds = self._read_whole(self._client.v1.refunds.list)
        released: dict[str, int] = {}
        for refund in refunds:
            if refund.get("payment_intent") is None:
                released[refund["charge"]] = released.get(refund["charge"], 0) + refund["amount"]

        def in_window(item: dict[str, Any]) -> bool:
            return created["gte"] <= item["created"] < created["lt"]

        return (
            [_with_amount_received(intent, released) for intent in intents if in_window(intent)],
            [
                refund
                for refund in refunds
                if refund.get("payment_intent") is not None and in_window(refund)
            ],
        )

    def _read_whole(self, list_page: Callable[..., Any]) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            items = list_page(params={"limit": _PAGE_SIZE}).auto_paging_iter()
            # GatewayTimeoutError, as for a lookup that cannot tell: the answer is not "no
            # more records" but "unknown", and the run fails instead of reporting false gaps.
            too_many = (
                f"stripe settlement_records: more than {SETTLEMENT_SCAN_LIMIT} objects to read "
                "without a created filter; cannot list the window completely"
            )
            return [item.to_dict() for item in _at_most(items, SETTLEMENT_SCAN_LIMIT, too_many)]

        return self._send("settlement_records", read)

    def verify_credentials(self) -> str:
        """Read the balance: harmless, and (unlike the account) localstripe serves it too."""
        balance = self._send("verify_credentials", self._client.v1.balance.retrieve)
        mode = "live" if balance.livemode else "test"
        return f"Stripe {mode} mode: the key can read the balance"

    def _intent_or_none(self, action: str, reference: str) -> dict[str, Any] | None:
        try:
            intent = self._send(action, lambda: self._client.v1.payment_intents.retrieve(reference))
        except StripeObjectMissingError:
            return None
        return intent.to_dict()

    def _find_with_key(
        self, first_page: Callable[[], Any], idempotency_key: str
    ) -> dict[str, Any] | None:
        """The first object of a listing whose metadata carries `idempotency_key`, reading at
        most LIST_SCAN_LIMIT of them."""

        def scan() -> dict[str, Any] | None:
            too_many = (
                f"stripe lookup: {LIST_SCAN_LIMIT} objects read without finding the key; "
                "cannot tell whether the operation happened"
            )
            for item in _at_most(first_page().auto_paging_iter(), LIST_SCAN_LIMIT, too_many):
                found = item.to_dict()
                if found.get("metadata", {}).get(METADATA_IDEMPOTENCY_KEY) == idempotency_key:
                    return found
            return None

        return self._send("lookup", scan)

    def _send(self, action: str, call: Callable[[], T]) -> T:
        """Run SDK calls; any Stripe failure leaves as a GatewayError."""
        try:
            return call()
        except stripe.StripeError as error:
            raise _gateway_error(action, error) from error


def _at_most(items: Iterable[T], limit: int, too_many: str) -> Iterator[T]:
    """`items`, failing with GatewayTimeoutError(too_many) if there are more than `limit`."""
    for position, item in enumerate(items):
        if position >= limit:
            raise GatewayTimeoutError(too_many)
        yield item


def _created_window(start: datetime, end: datetime) -> dict[str, int]:
    """[start, end) as Stripe's `created` filter. `created` is whole seconds, and a whole
    second is >= x (or < x) exactly when it is >= ceil(x) (or < ceil(x))."""
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("settlement_records needs timezone-aware datetimes")
    return {"gte": math.ceil(start.timestamp()), "lt": math.ceil(end.timestamp())}


def _refuses_created_filter(error: BaseException | None) -> bool:
    """A 400 about the `created` parameter: Stripe names it in `param`, localstripe only in
    its message ("Unexpected created")."""
    if not isinstance(error, stripe.InvalidRequestError) or error.http_status != 400:
        return False
    return error.param == "created" or "created" in (error.user_message or "")


def _with_amount_received(intent: dict[str, Any], released: dict[str, int]) -> dict[str, Any]:
    """localstripe's PaymentIntent with the amount_received Stripe would report: the amount
    less what its charge released uncaptured (its latest_charge comes expanded)."""
    if intent.get("amount_received") is not None:
        return intent
    charge_id = (intent.get("latest_charge") or {}).get("id", "")
    return {**intent, "amount_received": intent["amount"] - released.get(charge_id, 0)}


def _charge_record(intent: dict[str, Any]) -> SettlementRecord:
    return SettlementRecord(
        reference=intent["id"],
        kind="charge",
        amount=intent["amount_received"],
        currency=intent["currency"].upper(),
        status="succeeded",
        created_at=datetime.fromtimestamp(intent["created"], tz=UTC),
    )


def _refund_record(refund: dict[str, Any]) -> SettlementRecord:
    return SettlementRecord(
        reference=refund["id"],
        kind="refund",
        amount=refund["amount"],
        currency=refund["currency"].upper(),
        status=_REFUND_SETTLEMENT_STATUS.get(refund["status"], "failed"),
        created_at=datetime.fromtimestamp(refund["created"], tz=UTC),
    )


def _intent_result(intent: dict[str, Any]) -> GatewayResult:
    status, reference, amount = intent["status"], intent["id"], intent["amount"]
    if status == "succeeded":
        # localstripe has no amount_received: after a partial capture it reports the
        # authorized amount.
        return GatewayResult(Outcome.SUCCEEDED, reference, intent.get("amount_received") or amount)
    if status == "requires_capture":
        return GatewayResult(Outcome.SUCCEEDED, reference, amount)
    if status == "requires_action":
        return GatewayResult(
            Outcome.REQUIRES_ACTION, reference, amount, next_action=intent["next_action"]
        )
    if status == "processing":
        return GatewayResult(Outcome.PENDING, reference, amount)
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return _declined_result(reference, amount, intent["last_payment_error"])
    return GatewayResult(
        Outcome.DECLINED,
        reference,
        amount,
        "payment_intent_unexpected_state",
        message=f"The PaymentIntent is {status}.",
    )


def _void_result(intent: dict[str, Any]) -> GatewayResult:
    if intent["status"] == "canceled":
        return GatewayResult(Outcome.SUCCEEDED, intent["id"], intent["amount"])
    return _intent_result(intent)


def _declined_result(reference: str, amount: int, error: dict[str, Any]) -> GatewayResult:
    """From Stripe's error object (a CardError's body or an intent's last_payment_error)."""
    code = error.get("code") or ""
    decline_code = error.get("decline_code") or ""
    return GatewayResult(
        Outcome.DECLINED,
        reference,
        amount,
        code,
        decline_code,
        scrub_card_numbers(error.get("message") or ""),
        retryable=bool({code, decline_code} & _RETRYABLE_DECLINES),
    )


def _refund_result(refund: dict[str, Any]) -> GatewayResult:
    status, reference, amount = refund["status"], refund["id"], refund["amount"]
    if status == "succeeded":
        return GatewayResult(Outcome.SUCCEEDED, reference, amount)
    if status in ("pending", "requires_action"):
        return GatewayResult(Outcome.PENDING, reference, amount)
    return GatewayResult(
        Outcome.DECLINED,
        reference,
        amount,
        "refund_failed",
        refund.get("failure_reason") or "",
        f"Stripe reports the refund {status}.",
    )


def _gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    """Sort a Stripe failure into "certainly not processed" and "may have acted". Messages
    carry what Stripe said (scrubbed) and never our request's parameters."""
    where = f"stripe {action}"
    if isinstance(error, stripe.APIConnectionError):
        causes = " > ".join(type(cause).__name__ for cause in _causes(error))
        if any(isinstance(cause, _CONNECT_FAILURES) for cause in _causes(error)):
            return GatewayUnavailableError(f"{where}: could not connect, nothing sent ({causes})")
        return GatewayTimeoutError(
            f"{where}: no answer after the request was sent; Stripe may have acted ({causes})"
        )
    status = error.http_status
    request_id = f" [{error.request_id}]" if error.request_id else ""
    # Stripe processes nothing it answers with a 4xx, except 409: another request with the same
    # key is in flight and may still succeed.
    if status is not None and 400 <= status < 500 and status != 409:
        refusal = f"{where}: {_refusal(error)}; not processed{request_id}"
        if status == 404 and isinstance(error, stripe.InvalidRequestError):
            return StripeObjectMissingError(refusal)
        return GatewayUnavailableError(refusal)
    return GatewayTimeoutError(
        f"{where}: Stripe answered HTTP {status}; it may have acted{request_id}"
    )


def _refusal(error: stripe.StripeError) -> str:
    if isinstance(error, stripe.AuthenticationError):
        return "Stripe rejected the API key (401)"
    if isinstance(error, stripe.PermissionError):
        return "the API key may not do this (403)"
    if isinstance(error, stripe.RateLimitError):
        return "rate limited by Stripe (429)"
    if isinstance(error, stripe.IdempotencyError):
        return "Stripe refused the idempotency key (already used with other parameters)"
    said = scrub_card_numbers(error.user_message or "")
    return f"Stripe refused the request (HTTP {error.http_status} {error.code or ''}): {said}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The chain under an exception, through urllib3's MaxRetryError.reason and requests'
    habit of wrapping the urllib3 error as its first argument."""
    seen: set[int] = set()
    cause = error.__cause__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        reason = getattr(cause, "reason", None)
        wrapped = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        if isinstance(reason, BaseException):
            cause = reason
        else:
            cause = wrapped or cause.__cause__ or cause.__context__


# Webhooks (inbound). Stripe signs `f"{t}.{body}"` with the endpoint's secret; the SDK checks
# the signature and the 300-second tolerance.
WEBHOOK_TOLERANCE_SECONDS = 300

_PAYMENT_EVENTS = {
    "payment_intent.succeeded": "COMPLETED",
    "payment_intent.amount_capturable_updated": "AUTHORIZED",
    "payment_intent.payment_failed": "FAILED",
    "payment_intent.canceled": "CANCELLED",
    "payment_intent.requires_action": "REQUIRES_ACTION",
}
_REFUND_STATUS = {"succeeded": "COMPLETED", "pending": "PENDING", "failed": "FAILED"}
_DISPUTE_STATUS = {
    "warning_needs_response": "needs_response",
    "warning_under_review": "under_review",
    "warning_closed": "closed",
    "needs_response": "needs_response",
    "under_review": "under_review",
    "won": "won",
    "lost": "lost",
}


def stripe_event_verify(payload: bytes, signature_header: str, secret: str) -> GatewayEvent:
    """Check a webhook's `Stripe-Signature` and read it into our vocabulary."""
    if not secret:
        raise WebhookSignatureError("STRIPE_WEBHOOK_SECRET is not configured")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        ).to_dict()
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(f"signature does not verify: {exc.user_message}") from exc
    except (ValueError, KeyError) as exc:
        raise WebhookSignatureError("not a Stripe event") from exc
    return stripe_event_read(event)


def stripe_event_read(event: dict[str, Any]) -> GatewayEvent:
    event_type = event.get("type", "")
    obj = event.get("data", {}).get("object", {})
    base = {"event_id": event["id"], "event_type": event_type}
    if event_type in _PAYMENT_EVENTS:
        error = obj.get("last_payment_error") or {}
        return GatewayEvent(
            **base,
            object_kind="payment",
            reference=obj.get("id", ""),
            our_id=(obj.get("metadata") or {}).get(METADATA_PAYMENT_ID, ""),
            status=_PAYMENT_EVENTS[event_type],
            amount=obj.get("amount_received") or obj.get("amount") or 0,
            currency=(obj.get("currency") or "").upper(),
            error_code=error.get("decline_code") or error.get("code") or "",
            error_message=scrub_card_numbers(error.get("message") or ""),
            next_action=obj.get("next_action"),
        )
    if event_type in ("refund.updated", "refund.created", "charge.refund.updated"):
        return _refund_event(base, obj)
    if event_type == "charge.refunded":
        refunds = (obj.get("refunds") or {}).get("data") or []
        if refunds:
            return _refund_event(base, refunds[0])
    if event_type.startswith("charge.dispute."):
        due = (obj.get("evidence_details") or {}).get("due_by")
        return GatewayEvent(
            **base,
            object_kind="dispute",
            reference=obj.get("id", ""),
            payment_reference=obj.get("payment_intent") or "",
            status=_DISPUTE_STATUS.get(obj.get("status", ""), obj.get("status", "")),
            amount=obj.get("amount") or 0,
            currency=(obj.get("currency") or "").upper(),
            dispute_reason=obj.get("reason") or "",
            evidence_due_by=datetime.fromtimestamp(due, tz=UTC) if due else None,
        )
    return GatewayEvent(**base, object_kind="")


def _refund_event(base: dict[str, str], refund: dict[str, Any]) -> GatewayEvent:
    return GatewayEvent(
        **base,
        object_kind="refund",
        reference=refund.get("id", ""),
        payment_reference=refund.get("payment_intent") or "",
        # Our refunds carry "<refund id>:refund" as their key (Refund.gateway_idempotency_key).
        our_id=(refund.get("metadata") or {}).get(METADATA_IDEMPOTENCY_KEY, "").split(":")[0],
        status=_REFUND_STATUS.get(refund.get("status", ""), "FAILED"),
        amount=refund.get("amount") or 0,
        currency=(refund.get("currency") or "").upper(),
        error_code=refund.get("failure_reason") or "",
    )


def stripe_signature_explain(
    payload: bytes, signature_header: str, secret: str, *, now: float
) -> tuple[bool, str]:
    """Whether `payload` carries a valid `Stripe-Signature` for `secret`, and in words why
    not (for operators: the SDK only says "no signatures found matching")."""
    if not signature_header:
        return False, "no Stripe-Signature header"
    if not secret:
        return False, "no secret to check against (STRIPE_WEBHOOK_SECRET is not set)"
    parts = [item.split("=", 1) for item in signature_header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value for key, value in parts if key.strip() == "v1"]
    if not timestamps or not timestamps[0].isdigit():
        return False, "the header has no t=<unix time>"
    if not signatures:
        return False, "the header has no v1= signature (only v0/test schemes?)"
    timestamp = int(timestamps[0])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        return False, (
            "no v1 signature matches: signed with another secret, or the body was changed "
            "(even whitespace) after signing"
        )
    age = int(now) - timestamp
    if age > WEBHOOK_TOLERANCE_SECONDS:
        return True, (
            f"signature valid, but signed {age} s ago: past the {WEBHOOK_TOLERANCE_SECONDS} s "
            "tolerance, so a live delivery would be refused as a possible replay"
        )
    return True, f"signature valid (signed {age} s ago)"
