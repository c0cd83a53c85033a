"""PayPal: card payments through Orders v2 and their follow-ups through Payments v2, over HTTPS
with `requests` (no PayPal SDK: every call, header and timeout is visible here).

How our operations map onto PayPal (developer.paypal.com: the Orders v2 and Payments v2
references, "3D Secure: Orders API", "Idempotency", "Card decline errors"):
- authorize is one create-order call carrying the card. PayPal processes it at once and
  answers COMPLETED with the capture (intent CAPTURE) or authorization (intent AUTHORIZE) in
  `purchase_units[0].payments`, whose status says whether the card was charged or declined;
  or PAYER_ACTION_REQUIRED when 3-D Secure must run first. An order PayPal leaves APPROVED is
  completed with a second call.
- Our reference is the capture id of a sale and the authorization id of an authorization:
  what capture, void and refund address. A payment waiting for 3-D Secure has its order id.
- Every write carries our idempotency key as PayPal-Request-Id, so a repeat gets PayPal's
  first answer instead of a second charge, and as the `invoice_id` of the order, capture or
  refund it creates, which is how `lookup` recognises our own records among PayPal's.
- settlement_records reads Transaction Search (its v1 reference and "Transaction event codes"):
  PayPal's books, where a capture is a T00nn payment received and our refund a T1107.
- Inbound webhooks ("Webhooks" and "Webhook event names" on developer.paypal.com) are checked
  by PayPal itself (`paypal_event_verify`: the verify-webhook-signature API, asked by the
  platform's own PayPal app) and read by `paypal_event_read`.

Errors follow interface.py: nothing sent, or refused before PayPal acted (400, 401, 403, 429)
→ GatewayUnavailableError; sent but unanswered, or a 5xx → GatewayTimeoutError. Card data
never reaches an exception, a log line or a repr.
"""

import functools
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import requests
from urllib3.exceptions import NewConnectionError

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
    WebhookVerificationUnavailable,
)
from payments.money import currency_exponent, format_amount

logger = logging.getLogger("payments.gateways.paypal")

SANDBOX_API_BASE = "https://api-m.sandbox.paypal.com"
# A connection is made quickly or not at all, and a connect timeout is unambiguous (nothing
# was sent), so it need not wait as long as an answer may.
CONNECT_TIMEOUT_SECONDS = 3.0
# Renew the access token this long before PayPal says it expires (or halfway through a
# shorter lifetime), so no request carries a token that lapses in flight.
TOKEN_RENEWAL_MARGIN_SECONDS = 300

# `processor_response.response_code` of a declined card payment → our decline codes (Stripe's
# vocabulary, which the rest of Paydesk speaks). Codes not listed are a generic decline.
PROCESSOR_DECLINE_CODES: dict[str, str] = {
    "0500": "do_not_honor",
    "00N7": "incorrect_cvc",
    "5100": "generic_decline",
    "5110": "incorrect_cvc",
    "5120": "insufficient_funds",
    "5400": "expired_card",
    "9500": "fraudulent",
}
# 422 issues on a card order that are PayPal's refusal of the card itself. Any other 422 on an
# order is about our request or our account: certainly not charged, and maybe fine elsewhere.
CARD_DECLINE_ISSUES: dict[str, str] = {
    "INSTRUMENT_DECLINED": "generic_decline",
    "TRANSACTION_REFUSED": "generic_decline",
    "PAYER_CANNOT_PAY": "generic_decline",
    "CARD_CLOSED": "generic_decline",
    "CARD_EXPIRED": "expired_card",
}
DECLINE_MESSAGES: dict[str, str] = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
}
GENERIC_DECLINE_MESSAGE = "Your card was declined."
# 422 issues on captures, voids and refunds that have an error code of our own; any other is
# passed on in lower case (authorization_voided, previously_captured, ...).
REFUSAL_CODES: dict[str, str] = {
    "REFUND_AMOUNT_EXCEEDED": "amount_too_large",
    "MAX_CAPTURE_AMOUNT_EXCEEDED": "amount_too_large",
    "CAPTURE_FULLY_REFUNDED": "charge_already_refunded",
}
# Status of a capture, authorization or refund → what the latest operation on it came to: a
# voided authorization is a void that succeeded, a refunded capture a charge that did.
STATUS_OUTCOMES: dict[str, Outcome] = {
    "COMPLETED": Outcome.SUCCEEDED,
    "CREATED": Outcome.SUCCEEDED,
    "CAPTURED": Outcome.SUCCEEDED,
    "PARTIALLY_CAPTURED": Outcome.SUCCEEDED,
    "PARTIALLY_REFUNDED": Outcome.SUCCEEDED,
    "REFUNDED": Outcome.SUCCEEDED,
    "VOIDED": Outcome.SUCCEEDED,
    "PENDING": Outcome.PENDING,
    "DECLINED": Outcome.DECLINED,
    "DENIED": Outcome.DECLINED,
    "EXPIRED": Outcome.DECLINED,
    "FAILED": Outcome.DECLINED,
    "CANCELLED": Outcome.DECLINED,
}
# Transaction Search, what reconciliation reads. One call covers at most 31 days; a day less
# here, whichever way PayPal counts them (in UTC, or in the account's time zone across a DST
# change). 500 rows is the largest page PayPal serves.
SEARCH_PATH = "/v1/reporting/transactions"
SEARCH_WINDOW = timedelta(days=30)
SEARCH_PAGE_SIZE = 500
# Transaction event codes: the T00 group is payments, received (a positive amount) or sent,
# whichever API made them (T0006 for the Checkout APIs, T0003 pre-approved, ...); T1107 is a
# refund the merchant made. Every other code (authorizations, T13nn; reversals PayPal makes
# for a dispute, T1106; fees, holds, withdrawals) is no charge or refund of ours.
PAYMENT_EVENT_GROUP = "T00"
MERCHANT_REFUND_EVENT = "T1107"
# `transaction_status` → SettlementRecord.status. S: completed; P: pending; D: denied by PayPal's
# or the merchant's rules; V: "a successful transaction was fully reversed and funds were
# refunded to the original sender". A reversed charge did take place: what reversed it, our
# refund or a chargeback, is a row of its own. A status PayPal adds later is flagged ("failed"
# is a difference an operator looks at) rather than passed over.
CHARGE_SETTLEMENT_STATUS = {"S": "succeeded", "V": "succeeded", "P": "pending", "D": "failed"}
REFUND_SETTLEMENT_STATUS = {"S": "succeeded", "P": "pending", "D": "failed", "V": "failed"}
# What `lookup` sends to learn what PayPal holds under a request id (see `_lookup_order`):
# no card and no invoice id, so it can neither charge anyone nor pass for one of our orders.
RECOVERY_PROBE_ORDER: dict[str, Any] = {
    "intent": "CAPTURE",
    "purchase_units": [
        {
            "amount": {"currency_code": "USD", "value": "1.00"},
            "description": "Paydesk recovery probe: never approved, never charged",
        }
    ],
}
# Inbound webhooks. PayPal signs each delivery with its certificate; its verify API checks the
# signature for us, from these headers (field of the verify request → request header).
WEBHOOK_VERIFY_PATH = "/v1/notifications/verify-webhook-signature"
WEBHOOK_SIGNATURE_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}
# The webhook view waits for the verify call while PayPal waits for our answer: shorter than
# the API calls a merchant's payment waits for.
WEBHOOK_VERIFY_TIMEOUT_SECONDS = 5.0
# Payments v2 events → the status of our payment they report. The resource is the capture or
# authorization, as the Payments v2 API shows it.
PAYMENT_EVENT_STATUS = {
    "PAYMENT.CAPTURE.COMPLETED": "COMPLETED",
    "PAYMENT.CAPTURE.DENIED": "FAILED",
    "PAYMENT.CAPTURE.DECLINED": "FAILED",
    "PAYMENT.AUTHORIZATION.CREATED": "AUTHORIZED",
    "PAYMENT.AUTHORIZATION.VOIDED": "CANCELLED",
}
# Refund events: PAYMENT.CAPTURE.REFUNDED (a refund completed) and PAYMENT.REFUND.PENDING /
# .FAILED; the resource is the refund. Its status (or else the event's) → RefundStatus. A
# cancelled refund moved no money.
REFUND_COMPLETED_EVENT = "PAYMENT.CAPTURE.REFUNDED"
REFUND_EVENT_PREFIX = "PAYMENT.REFUND."
REFUND_EVENT_STATUS = {
    "COMPLETED": "COMPLETED",
    "PENDING": "PENDING",
    "FAILED": "FAILED",
    "CANCELLED": "FAILED",
}
# Disputes v1: the resource is the dispute. Its status → ours; a resolved one is won or lost
# by its `dispute_outcome.outcome_code`, and "closed" when the outcome says neither (PayPal
# paid the buyer itself, or no outcome).
DISPUTE_EVENTS = frozenset(
    {"CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED"}
)
DISPUTE_STATUS = {
    "OPEN": "needs_response",
    "WAITING_FOR_SELLER_RESPONSE": "needs_response",
    "WAITING_FOR_BUYER_RESPONSE": "under_review",
    "UNDER_REVIEW": "under_review",
    "OTHER": "under_review",
}
DISPUTE_OUTCOMES = {
    "RESOLVED_SELLER_FAVOUR": "won",
    "CANCELED_BY_BUYER": "won",
    "DENIED": "won",
    "RESOLVED_BUYER_FAVOUR": "lost",
    "ACCEPTED": "lost",
}
# PayPal's dispute reasons that have a name in the vocabulary the rest of Paydesk speaks
# (Stripe's); any other is passed on in lower case (incorrect_amount, ...).
DISPUTE_REASONS = {
    "UNAUTHORISED": "fraudulent",
    "MERCHANDISE_OR_SERVICE_NOT_RECEIVED": "product_not_received",
    "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED": "product_unacceptable",
    "CREDIT_NOT_PROCESSED": "credit_not_processed",
    "DUPLICATE_TRANSACTION": "duplicate",
    "CANCELED_RECURRING_BILLING": "subscription_canceled",
}


class PayPalGateway:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_base: str = SANDBOX_API_BASE,
        timeout_seconds: float = 10.0,
        name: str = "paypal",
    ) -> None:
        self.name = name
        self.api_base = api_base.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeouts = (min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds)
        # requests does not promise that one Session is safe to share between threads, and
        # instances of this class are: each thread gets its own Session (and connections).
        self._local = threading.local()
        self._token_lock = threading.Lock()
        self._token = ""
        self._token_renew_at = 0.0
        self._token_summary = ""

    def __repr__(self) -> str:
        return f"PayPalGateway(name={self.name!r}, api_base={self.api_base!r})"

    def authorize(self, request: AuthorizeRequest) -> GatewayResult:
        response = self._call(
            "POST",
            "/v2/checkout/orders",
            body=_order_request(request),
            request_id=request.idempotency_key,
            answers=(422,),
        )
        if response.status_code == 422:
            return _card_refusal(response, request.amount)
        order = _body(response)
        if order.get("status") == "APPROVED":
            action = "capture" if request.capture else "authorize"
            # A request id of its own: PayPal may refuse, or answer with the order, a request
            # id already used for another call. Derived from ours, so a retry repeats it.
            response = self._call(
                "POST",
                f"/v2/checkout/orders/{_segment(order['id'])}/{action}",
                request_id=f"{request.idempotency_key}:{action}",
                answers=(422,),
            )
            if response.status_code == 422:
                return _card_refusal(response, request.amount)
            order = _body(response)
        result = _order_result(order)
        if result is None:
            raise GatewayUnavailableError(
                f"PayPal charged nothing on order {order.get('id')} ({order.get('status')})"
            )
        return result

    def capture(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        response = self._call(
            "POST",
            f"/v2/payments/authorizations/{_segment(reference)}/capture",
            body={
                "amount": _money(amount, currency),
                "final_capture": True,
                "invoice_id": idempotency_key,
            },
            request_id=idempotency_key,
            answers=(404, 422),
        )
        if response.status_code in (404, 422):
            return _refusal(response, amount)
        return _payment_result(_body(response))

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        response = self._call(
            "POST",
            f"/v2/payments/authorizations/{_segment(reference)}/void",
            request_id=idempotency_key,
            answers=(404, 422),
        )
        if response.status_code in (404, 422):
            return _refusal(response, 0)
        # 200 with the voided authorization, or 204 if PayPal ignores our Prefer header.
        voided = _body(response) if response.content else {}
        return GatewayResult(Outcome.SUCCEEDED, reference, _amount(voided, 0))

    def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        """Refund part or all of the capture `reference`; the result's reference is the refund
        id. PENDING (PayPal completes it later) is PENDING; FAILED or CANCELLED is a decline."""
        response = self._call(
            "POST",
            f"/v2/payments/captures/{_segment(reference)}/refund",
            body={"amount": _money(amount, currency), "invoice_id": idempotency_key},
            request_id=idempotency_key,
            answers=(404, 422),
        )
        if response.status_code in (404, 422):
            return _refusal(response, amount)
        return _refund_result(_body(response), amount)

    def retrieve(self, *, reference: str) -> GatewayResult | None:
        """What PayPal says of one of our references: a capture (a sale, or a captured
        authorization), an authorization, or the order of a payment awaiting 3-D Secure.
        PayPal ids do not say what they name, so ask in that order."""
        if not reference:
            return None
        for kind in ("captures", "authorizations"):
            payment = self._get(f"/v2/payments/{kind}/{_segment(reference)}")
            if payment is not None:
                return _payment_result(payment)
        order = self._get(f"/v2/checkout/orders/{_segment(reference)}")
        return None if order is None else _order_result(order)

    def lookup(
        self, *, operation: str, idempotency_key: str, reference: str = ""
    ) -> GatewayResult | None:
        """PayPal cannot be asked what it recorded under a request id, and its transaction
        search lags by hours, so: an authorization is looked up by repeating its request id
        (`_lookup_order`); a capture or refund is found among its order's payments by the
        invoice id we gave it; a void is whether the authorization is voided."""
        if operation == "authorize":
            if reference:
                return self.retrieve(reference=reference)
            return self._lookup_order(idempotency_key)
        if operation == "capture":
            capture = self._find_in_order("authorizations", reference, "captures", idempotency_key)
            return None if capture is None else _payment_result(capture)
        if operation == "refund":
            refund = self._find_in_order("captures", reference, "refunds", idempotency_key)
            return None if refund is None else _refund_result(refund, 0)
        if operation == "void":
            authorization = self._get(f"/v2/payments/authorizations/{_segment(reference)}")
            if authorization is None or authorization.get("status") != "VOIDED":
                return None
            return _payment_result(authorization)
        raise ValueError(f"unknown gateway operation {operation!r}")

    def settlement_records(self, *, start: datetime, end: datetime) -> list[SettlementRecord]:
        """The captures and refunds PayPal's Transaction Search lists as initiated in
        [start, end): a charge under its capture id (our ledger's reference for sales and
        captures), a refund under the refund id, both for their gross amount.

        The search lags: PayPal says an executed transaction takes up to three hours to appear
        in it, which is why reconciliation reads the previous day at 04:00 UTC, not at midnight.
        That leaves less than three hours after the day's end, so an answer PayPal has not yet
        refreshed (`last_refreshed_datetime`) up to the window's end (up to now, for a window
        still running) fails rather than leave out what came later: reconciliation would report
        each of those as missing at PayPal."""
        if start.utcoffset() is None or end.utcoffset() is None:
            raise ValueError("settlement_records needs timezone-aware datetimes")
        asked_at = datetime.now(UTC).replace(microsecond=0)
        records: dict[tuple[str, str], SettlementRecord] = {}
        for window_start, window_end in _search_windows(start, end):
            rows = self._search(window_start, window_end, fresh_until=min(window_end, asked_at))
            for row in rows:
                record = _settlement_record(row)
                # A row at the edge of two windows may be listed by both, and offset paging
                # while rows arrive may list one on two pages: one record per movement.
                if record is not None and start <= record.created_at < end:
                    records.setdefault((record.kind, record.reference), record)
        return sorted(records.values(), key=lambda record: record.created_at)

    def verify_credentials(self) -> str:
        """Fetch a fresh access token (a cached one says nothing about the credentials now)."""
        self._access_token(stale=self._token)
        return self._token_summary

    def webhook_signature_status(
        self, *, transmission: Mapping[str, str], webhook_id: str, event: dict[str, Any]
    ) -> str:
        """Ask PayPal whether `event` is a delivery it signed for our webhook `webhook_id`
        (`transmission`: the delivery's signature fields, named as in WEBHOOK_SIGNATURE_HEADERS).
        Returns PayPal's verification_status ("SUCCESS" or "FAILURE"), or what it found wrong
        with the fields themselves (a 400 or 422: malformed, so not PayPal's). Raises
        GatewayError when PayPal gives no answer."""
        response = self._call(
            "POST",
            WEBHOOK_VERIFY_PATH,
            body={**transmission, "webhook_id": webhook_id, "webhook_event": event},
            answers=(400, 422),
        )
        if response.status_code in (400, 422):
            return f"refused: {_describe(response)}"
        return str(_body(response).get("verification_status") or "no verification_status")

    def _lookup_order(self, idempotency_key: str) -> GatewayResult | None:
        """Repeat the create-order write under the same PayPal-Request-Id: PayPal answers with
        the order it recorded under that id. The repeat carries no card and no invoice id, so
        if PayPal has no record it creates an order nobody can pay and that is not ours (None:
        it never happened), and that order then holds the id: a late copy of the original
        request can no longer charge. PayPal keeps request ids for 6 hours by default (72 by
        arrangement); after that, an order that did exist can no longer be found this way."""
        response = self._call(
            "POST",
            "/v2/checkout/orders",
            body=RECOVERY_PROBE_ORDER,
            request_id=idempotency_key,
            answers=(422,),
        )
        if response.status_code == 422:
            return _card_refusal(response, 0)  # PayPal kept its refusal of the original
        order = _body(response)
        units = order.get("purchase_units") or [{}]
        if units[0].get("invoice_id") != idempotency_key:
            return None
        # The repeat may answer with the order as first recorded; its status now is what counts.
        current = self._get(f"/v2/checkout/orders/{_segment(order['id'])}") or order
        return _order_result(current)

    def _search(
        self, start: datetime, end: datetime, *, fresh_until: datetime
    ) -> list[dict[str, Any]]:
        """Every `transaction_info` row of one search window, page after page."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "fields": "transaction_info",
                "page_size": SEARCH_PAGE_SIZE,
                "page": page,
            }
            answer = _body(self._call("GET", f"{SEARCH_PATH}?{urlencode(query)}"))
            refreshed = answer.get("last_refreshed_datetime")
            if refreshed and _paypal_time(refreshed) < fresh_until:
                raise GatewayTimeoutError(
                    f"PayPal's transaction search is refreshed up to {refreshed}, short of "
                    f"{fresh_until.isoformat()}: its listing would leave out what came later"
                )
            details = answer.get("transaction_details") or []
            rows.extend(detail.get("transaction_info") or {} for detail in details)
            if page >= int(answer.get("total_pages") or 0):
                return rows
            page += 1

    def _find_in_order(
        self, kind: str, reference: str, collection: str, idempotency_key: str
    ) -> dict[str, Any] | None:
        """The capture or refund made under `idempotency_key` on the authorization or capture
        `reference`, found in its order's payments by the invoice id we gave it."""
        parent = self._get(f"/v2/payments/{kind}/{_segment(reference)}")
        if parent is None:
            return None
        order_id = parent.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
        if not order_id:
            raise GatewayTimeoutError(f"PayPal did not say which order {kind} {reference} is in")
        order = self._get(f"/v2/checkout/orders/{_segment(order_id)}")
        if order is None:
            raise GatewayTimeoutError(f"PayPal has {kind} {reference} but not its order")
        payments = order["purchase_units"][0].get("payments", {}).get(collection, [])
        return next((p for p in payments if p.get("invoice_id") == idempotency_key), None)

    def _get(self, path: str) -> dict[str, Any] | None:
        response = self._call("GET", path, answers=(404,))
        return None if response.status_code == 404 else _body(response)

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        request_id: str = "",
        answers: tuple[int, ...] = (),
    ) -> requests.Response:
        """One API call. Answers with a 2xx or a status in `answers` return for the caller to
        read; every other answer becomes a GatewayError. A 401 means PayPal did not act, so
        the call is sent once more with a fresh token."""
        token = self._access_token()
        response = self._send(method, path, token, body, request_id)
        if response.status_code == 401:
            response = self._send(method, path, self._access_token(stale=token), body, request_id)
        status = response.status_code
        if 200 <= status < 300 or status in answers:
            return response
        failure = f"PayPal answered {method} {path} with {_describe(response)}"
        logger.warning(failure)
        # 409: a concurrent request with the same request id, which PayPal may still complete.
        if status >= 500 or status == 409:
            raise GatewayTimeoutError(failure)
        raise GatewayUnavailableError(failure)

    def _send(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None,
        request_id: str,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        if method == "POST" and body is None:
            body = {}  # PayPal wants a JSON body, even an empty one, on every write
        try:
            return self._session().request(
                method,
                self.api_base + path,
                json=body,
                headers=headers,
                timeout=self._timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _transport_error(exc, f"{method} {path}")
        # Raised outside the handler so the exception carries no link to requests' exception,
        # whose request holds the body we sent (a card number).
        logger.warning("%s", error)
        raise error

    def _access_token(self, *, stale: str = "") -> str:
        """The cached access token, fetched anew when there is none, it is due for renewal, or
        it is `stale` (PayPal just refused it). Threads wait on the lock for one fetch rather
        than each fetching their own."""
        with self._token_lock:
            if self._token and self._token != stale and time.monotonic() < self._token_renew_at:
                return self._token
            grant = self._fetch_token()
            lifetime = float(grant["expires_in"])
            self._token = grant["access_token"]
            self._token_renew_at = time.monotonic() + max(
                lifetime - TOKEN_RENEWAL_MARGIN_SECONDS, lifetime / 2
            )
            scopes = grant.get("scope", "").split()
            self._token_summary = f"PayPal app {grant.get('app_id', '?')} ({len(scopes)} scopes)"
            return self._token

    def _fetch_token(self) -> dict[str, Any]:
        try:
            response = self._session().post(
                self.api_base + "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                timeout=self._timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # A token request changes nothing at PayPal: even a lost answer means not processed.
            failure = f"PayPal token request failed ({type(exc).__name__})"
        else:
            grant = (_json_object(response) or {}) if response.status_code == 200 else {}
            if grant.get("access_token") and grant.get("expires_in"):
                return grant
            failure = f"PayPal refused our client credentials: {_describe(response)}"
        logger.warning(failure)
        raise GatewayUnavailableError(failure)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Accept"] = "application/json"
        return session


def _order_request(request: AuthorizeRequest) -> dict[str, Any]:
    card: dict[str, Any] = {
        "number": request.card.number,
        "expiry": f"{request.card.exp_year:04d}-{request.card.exp_month:02d}",
    }
    if request.card.cvc:  # a saved card has none
        card["security_code"] = request.card.cvc
    if request.three_d_secure:
        card["attributes"] = {"verification": {"method": "SCA_ALWAYS"}}
    unit: dict[str, Any] = {
        "amount": _money(request.amount, request.currency),
        "custom_id": request.payment_id,
        "invoice_id": request.idempotency_key,
    }
    if request.description:
        unit["description"] = request.description[:127]  # PayPal's limit
    return {
        "intent": "CAPTURE" if request.capture else "AUTHORIZE",
        "purchase_units": [unit],
        "payment_source": {"card": card},
    }


def _order_result(order: dict[str, Any]) -> GatewayResult | None:
    """What an order came to; None while it holds no payment (nothing was charged)."""
    unit = order["purchase_units"][0]
    if order.get("status") == "PAYER_ACTION_REQUIRED":
        links = order.get("links", [])
        link = next((ln["href"] for ln in links if ln.get("rel") == "payer-action"), "")
        return GatewayResult(
            Outcome.REQUIRES_ACTION,
            order["id"],
            _amount(unit, 0),
            next_action={"type": "redirect_to_url", "redirect_to_url": {"url": link}},
        )
    # The order's own payment comes first; later captures of an authorization follow it.
    kind = "captures" if order.get("intent") == "CAPTURE" else "authorizations"
    payments = unit.get("payments", {}).get(kind, [])
    return _payment_result(payments[0]) if payments else None


def _payment_result(payment: dict[str, Any]) -> GatewayResult:
    """A capture or authorization as a result; a declined one carries its decline code."""
    outcome = _outcome(payment)
    amount = _amount(payment, 0)
    if outcome != Outcome.DECLINED:
        return GatewayResult(outcome, payment["id"], amount)
    return _card_declined(payment["id"], amount, _decline_code(payment))


def _decline_code(payment: dict[str, Any]) -> str:
    """Our decline code for a declined capture or authorization, from its processor response."""
    processor = payment.get("processor_response", {})
    decline_code = PROCESSOR_DECLINE_CODES.get(processor.get("response_code", ""), "")
    if not decline_code and processor.get("cvv_code") == "N":  # no match
        decline_code = "incorrect_cvc"
    return decline_code or "generic_decline"


def _refund_result(refund: dict[str, Any], requested_amount: int) -> GatewayResult:
    outcome = _outcome(refund)
    amount = _amount(refund, requested_amount)
    if outcome != Outcome.DECLINED:
        return GatewayResult(outcome, refund["id"], amount)
    reason = refund.get("status_details", {}).get("reason", "")
    message = f"PayPal did not complete the refund ({reason or refund['status']})."
    return GatewayResult(Outcome.DECLINED, refund["id"], amount, "refund_failed", message=message)


def _outcome(payment: dict[str, Any]) -> Outcome:
    outcome = STATUS_OUTCOMES.get(payment.get("status", ""))
    if outcome is None:
        # We cannot tell what happened: ambiguous, recovery asks again later.
        raise GatewayTimeoutError(f"PayPal status {payment.get('status')!r} of {payment.get('id')}")
    return outcome


def _card_refusal(response: requests.Response, amount: int) -> GatewayResult:
    """A 422 on an order: a decline when the issue is about the card, else an error."""
    issue = _issue(_error_body(response))
    decline_code = CARD_DECLINE_ISSUES.get(issue)
    if decline_code is None:
        failure = f"PayPal refused the order: {_describe(response)}"
        logger.warning(failure)
        raise GatewayUnavailableError(failure)
    return _card_declined("", amount, decline_code)


def _card_declined(reference: str, amount: int, decline_code: str) -> GatewayResult:
    message = DECLINE_MESSAGES.get(decline_code, GENERIC_DECLINE_MESSAGE)
    return GatewayResult(
        Outcome.DECLINED, reference, amount, "card_declined", decline_code, message
    )


def _refusal(response: requests.Response, amount: int) -> GatewayResult:
    """PayPal's "no" to a capture, void or refund: 404 (no such payment) or a 422 issue. No
    new payment exists, so the result has no reference."""
    if response.status_code == 404:
        return GatewayResult(
            Outcome.DECLINED, "", amount, "resource_missing", message="PayPal has no such payment."
        )
    issue = _issue(_error_body(response))
    code = REFUSAL_CODES.get(issue, issue.lower() or "processing_error")
    return GatewayResult(
        Outcome.DECLINED, "", amount, code, message=f"PayPal refused: {issue or 'no reason'}."
    )


def _transport_error(exc: requests.RequestException, what: str) -> GatewayError:
    """No connection was made (refused, DNS, TLS handshake, proxy, connect timeout): nothing
    was sent. Anything later (read timeout, connection dropped mid-answer) is ambiguous."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    never_sent = isinstance(
        exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError
    ) or isinstance(reason, NewConnectionError)
    if never_sent:
        return GatewayUnavailableError(f"PayPal unreachable for {what} ({type(exc).__name__})")
    return GatewayTimeoutError(f"No answer from PayPal for {what} ({type(exc).__name__})")


def _describe(response: requests.Response) -> str:
    """Status, PayPal's error name, issue and field, and its debug id (for PayPal support).
    Never the error's `value` or `description`: those can echo what we sent."""
    error = _error_body(response)
    detail = (error.get("details") or [{}])[0]
    parts = (error.get("name") or error.get("error"), detail.get("issue"), detail.get("field"))
    text = " ".join([str(response.status_code), *(str(part) for part in parts if part)])
    debug_id = error.get("debug_id")
    return f"{text} (debug_id {debug_id})" if debug_id else text


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_body(response: requests.Response) -> dict[str, Any]:
    return _json_object(response) or {}


def _issue(error: dict[str, Any]) -> str:
    return str((error.get("details") or [{}])[0].get("issue", ""))


def _body(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a 2xx answer. Anything else leaves us unable to tell what PayPal
    did: ambiguous."""
    body = _json_object(response)
    if body is None:
        raise GatewayTimeoutError(f"PayPal's {response.status_code} answer is not a JSON object")
    return body


def _money(amount: int, currency: str) -> dict[str, str]:
    code = currency.upper()
    return {"currency_code": code, "value": format_amount(amount, code)}


def _amount(resource: dict[str, Any], default: int) -> int:
    """Minor units of a resource's `amount`, or `default`."""
    money = resource.get("amount")
    return _minor_units(money) if money else default


def _minor_units(money: dict[str, str]) -> int:
    """PayPal's money ({"currency_code", "value"}) in minor units, keeping its sign."""
    return int(Decimal(money["value"]).scaleb(currency_exponent(money["currency_code"])))


def _search_windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) widened to whole seconds (what the search takes) in UTC, cut into
    windows PayPal serves in one call each."""
    start = start.astimezone(UTC).replace(microsecond=0)
    end = end.astimezone(UTC)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    while start < end:
        yield start, min(start + SEARCH_WINDOW, end)
        start += SEARCH_WINDOW


def _settlement_record(row: dict[str, Any]) -> SettlementRecord | None:
    """A search row as a charge or refund of ours; None for any other money movement."""
    code = str(row.get("transaction_event_code", ""))
    if not (code.startswith(PAYMENT_EVENT_GROUP) or code == MERCHANT_REFUND_EVENT):
        return None
    try:
        reference = row["transaction_id"]
        money = row["transaction_amount"]
        amount = _minor_units(money)
        currency = money["currency_code"].upper()
        created_at = _paypal_time(row["transaction_initiation_date"])
    except (KeyError, TypeError, AttributeError, ValueError, ArithmeticError) as exc:
        raise GatewayTimeoutError(
            f"PayPal's search row {row.get('transaction_id')!r} ({code}) is unreadable "
            f"({type(exc).__name__})"
        ) from None
    status = str(row.get("transaction_status", ""))
    if code == MERCHANT_REFUND_EVENT:  # a debit: PayPal lists it negative
        kind, amount, statuses = "refund", abs(amount), REFUND_SETTLEMENT_STATUS
    elif amount > 0:
        kind, statuses = "charge", CHARGE_SETTLEMENT_STATUS
    else:
        return None  # a payment the account sent
    return SettlementRecord(
        reference=reference,
        kind=kind,
        amount=amount,
        currency=currency,
        status=statuses.get(status, "failed"),
        created_at=created_at,
    )


def _paypal_time(text: str) -> datetime:
    """PayPal's date-time (RFC 3339; its sample answers write the offset as +0000) in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise GatewayTimeoutError(f"PayPal's time {text!r} is unreadable")
    return moment.astimezone(UTC)


def _segment(value: str) -> str:
    """`value` as one URL path segment: an id can never reach another endpoint."""
    return quote(value, safe="")


@functools.lru_cache(maxsize=4)
def paypal_platform_client(client_id: str, client_secret: str, api_base: str) -> PayPalGateway:
    """The platform's own PayPal app (not a merchant's), which asks PayPal to verify webhooks:
    one per configuration, so its access token serves many webhooks."""
    return PayPalGateway(
        client_id,
        client_secret,
        api_base=api_base,
        timeout_seconds=WEBHOOK_VERIFY_TIMEOUT_SECONDS,
        name="paypal-platform",
    )


def paypal_event_verify(
    body: bytes, headers: Mapping[str, str], *, webhook_id: str, client: PayPalGateway | None
) -> GatewayEvent:
    """Have PayPal check a webhook delivery's signature for our webhook `webhook_id`, then read
    it into our vocabulary. `client` is the platform app that asks (None: not configured).

    WebhookSignatureError: not configured, a signature header missing, not a PayPal event, or
    PayPal says the signature does not verify. WebhookVerificationUnavailable: PayPal did not
    answer, so the signature is neither good nor bad yet."""
    if not webhook_id:
        raise WebhookSignatureError("PAYPAL_WEBHOOK_ID is not configured")
    if client is None:
        raise WebhookSignatureError("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET are not configured")
    received = {name.lower(): value for name, value in headers.items()}
    transmission = {
        field: received.get(header.lower(), "")
        for field, header in WEBHOOK_SIGNATURE_HEADERS.items()
    }
    missing = [
        WEBHOOK_SIGNATURE_HEADERS[field] for field, value in transmission.items() if not value
    ]
    if missing:
        raise WebhookSignatureError(
            f"missing {', '.join(missing)} header{'s' if len(missing) > 1 else ''}"
        )
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not event.get("id") or not isinstance(event["id"], str):
        raise WebhookSignatureError("not a PayPal event")
    try:
        status = client.webhook_signature_status(
            transmission=transmission, webhook_id=webhook_id, event=event
        )
    except GatewayError as exc:
        raise WebhookVerificationUnavailable(f"PayPal could not verify it: {exc}") from None
    if status != "SUCCESS":
        raise WebhookSignatureError(f"signature does not verify: PayPal says {status}")
    return paypal_event_read(event)


def paypal_event_read(event: dict[str, Any]) -> GatewayEvent:
    """A PayPal webhook event in our vocabulary: a capture or authorization as our payment, a
    refund as our refund, a dispute as our dispute; any other event is not ours to act on."""
    event_type = event.get("event_type", "")
    resource = event.get("resource") or {}
    base: dict[str, Any] = {"event_id": event["id"], "event_type": event_type}
    if event_type in PAYMENT_EVENT_STATUS:
        return _payment_event(base, resource, PAYMENT_EVENT_STATUS[event_type])
    if event_type == REFUND_COMPLETED_EVENT or event_type.startswith(REFUND_EVENT_PREFIX):
        status = _refund_status(event_type, resource)
        if status:
            return _refund_event(base, resource, status)
    if event_type in DISPUTE_EVENTS:
        return _dispute_event(base, resource)
    return GatewayEvent(**base, object_kind="")


def _payment_event(base: dict[str, Any], payment: dict[str, Any], status: str) -> GatewayEvent:
    """A capture or authorization. Ours carry our payment id as `custom_id`, except a capture
    of an authorization: that one is found by the authorization (its `up` link) or order."""
    amount, currency = _event_money(payment.get("amount"))
    decline_code = _decline_code(payment) if status == "FAILED" else ""
    message = DECLINE_MESSAGES.get(decline_code, GENERIC_DECLINE_MESSAGE) if decline_code else ""
    return GatewayEvent(
        **base,
        object_kind="payment",
        reference=payment.get("id", ""),
        our_id=payment.get("custom_id") or "",
        status=status,
        amount=amount,
        currency=currency,
        error_code=decline_code,
        error_message=message,
        related_references=_payment_parents(payment),
    )


def _payment_parents(payment: dict[str, Any]) -> tuple[str, ...]:
    """The ids a capture or authorization descends from: what its `up` link names (the
    authorization a capture was taken from, or the order), then `related_ids`."""
    related = payment.get("supplementary_data", {}).get("related_ids", {})
    _, parent_id = _up_link(payment)
    ids = (parent_id, related.get("authorization_id"), related.get("order_id"))
    return tuple(dict.fromkeys(i for i in ids if i and i != payment.get("id")))


def _refund_status(event_type: str, refund: dict[str, Any]) -> str:
    """The refund's RefundStatus, from the refund itself or else from the event's name; ""
    when neither says one we know."""
    named = (
        "COMPLETED"
        if event_type == REFUND_COMPLETED_EVENT
        else event_type.removeprefix(REFUND_EVENT_PREFIX)
    )
    return REFUND_EVENT_STATUS.get(refund.get("status", "")) or REFUND_EVENT_STATUS.get(named, "")


def _refund_event(base: dict[str, Any], refund: dict[str, Any], status: str) -> GatewayEvent:
    """A refund; ours carry our key "<refund id>:refund" (Refund.gateway_idempotency_key) as
    their `invoice_id`, and name their capture in their `up` link."""
    amount, currency = _event_money(refund.get("amount"))
    invoice_id = refund.get("invoice_id") or ""
    parent_kind, parent_id = _up_link(refund)
    capture_id = parent_id if parent_kind == "captures" else ""
    return GatewayEvent(
        **base,
        object_kind="refund",
        reference=refund.get("id", ""),
        payment_reference=capture_id
        or refund.get("supplementary_data", {}).get("related_ids", {}).get("capture_id", ""),
        our_id=invoice_id.removesuffix(":refund") if invoice_id.endswith(":refund") else "",
        status=status,
        amount=amount,
        currency=currency,
        error_code="refund_failed" if status == "FAILED" else "",
    )


def _dispute_event(base: dict[str, Any], dispute: dict[str, Any]) -> GatewayEvent:
    """A dispute about one of our captures (`disputed_transactions[0].seller_transaction_id`)."""
    amount, currency = _event_money(dispute.get("dispute_amount"))
    transactions = dispute.get("disputed_transactions") or [{}]
    status = dispute.get("status") or ""
    if status == "RESOLVED":
        outcome = (dispute.get("dispute_outcome") or {}).get("outcome_code", "")
        our_status = DISPUTE_OUTCOMES.get(outcome, "closed")
    else:
        our_status = DISPUTE_STATUS.get(status, status.lower())
    reason = dispute.get("reason") or ""
    return GatewayEvent(
        **base,
        object_kind="dispute",
        reference=dispute.get("dispute_id", ""),
        payment_reference=transactions[0].get("seller_transaction_id") or "",
        status=our_status,
        amount=amount,
        currency=currency,
        dispute_reason=DISPUTE_REASONS.get(reason, reason.lower()),
        evidence_due_by=_event_time(dispute.get("seller_response_due_date")),
    )


def _up_link(resource: dict[str, Any]) -> tuple[str, str]:
    """The collection and id of what a resource's `up` link names: ("captures", id) for a
    refund, ("authorizations", id) or ("orders", id) for a capture; ("", "") without one."""
    href = next(
        (link.get("href", "") for link in resource.get("links", []) if link.get("rel") == "up"), ""
    )
    parts = urlparse(href).path.rstrip("/").split("/")
    return (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")


def _event_money(money: Any) -> tuple[int, str]:
    """Minor units and currency of an event's money; (0, "") when it has none we can read (the
    event still tells what happened: what we recorded gives the amount)."""
    try:
        return _minor_units(money), money["currency_code"].upper()
    except (KeyError, TypeError, AttributeError, ValueError, ArithmeticError):
        return 0, ""


def _event_time(text: Any) -> datetime | None:
    """An event's date-time, or None when it has none we can read."""
    try:
        return _paypal_time(text)
    except GatewayTimeoutError:
        return None
