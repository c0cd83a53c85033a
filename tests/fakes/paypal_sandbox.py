"""A local stand-in for PayPal's REST sandbox: OAuth2 client credentials, Orders v2, Payments
v2 and Transaction Search, as much as the PayPal gateway uses. Stateful and thread-safe (one
lock).

Response shapes follow PayPal's reference pages on developer.paypal.com:
- /api/rest/authentication/: the token answer (scope, access_token, app_id, expires_in)
- /docs/api/orders/v2/: orders, `purchase_units[0].payments`, HATEOAS `links`
- /docs/api/payments/v2/: authorizations, captures, refunds, `supplementary_data.related_ids`
- /docs/checkout/advanced/customize/3d-secure/api/: PAYER_ACTION_REQUIRED, `payer-action`
- /docs/checkout/advanced/card-decline-errors: `processor_response` codes
- /api/rest/reference/idempotency/: PayPal-Request-Id
- /api/orders/v2/error-messages: the error envelope (name, details[].issue, debug_id)
- /docs/api/transaction-search/v1/: GET /v1/reporting/transactions (start_date, end_date at
  most 31 days apart, page from 1, page_size up to 500; `transaction_details[].transaction_info`,
  `total_pages`, `last_refreshed_datetime`) and /docs/transaction-search/transaction-event-codes
- /api/rest/webhooks/rest/ and /api/webhooks/v1/: the PAYPAL-* headers of a webhook delivery,
  POST /v1/notifications/verify-webhook-signature and its `verification_status`

Outcomes come from the card number, like Stripe's test cards: ...0002 is refused (422
INSTRUMENT_DECLINED); ...9995, ...0069 and ...0127 are declined by the "issuer" (processor
codes 5120, 5400, 5110); ...3184, or SCA_ALWAYS, needs 3-D Secure; a past expiry is 422
CARD_EXPIRED; a number failing Luhn is a 400 that echoes it, as PayPal's validation errors
may; any other number succeeds. Every capture is final. Knobs, for API calls only (the token
endpoint always answers at once): `fail_next`, `delay_seconds`, `revoke_tokens`, and
`single_step` (False: card orders stop at APPROVED until captured or authorized).

Transaction Search lists what PayPal books by default, the balance-affecting rows: each
completed capture (T0006, positive) and refund (T1107, negative) at the time it was made.
Authorizations and declines move no money and are not booked. `book` adds other rows (fees,
reversals, odd statuses); `frozen_at` sets PayPal's clock; `search_lag` is how far the
search's data trails it (PayPal: up to three hours).

Webhooks: `webhook_delivery` builds a delivery as PayPal sends one (body and signature
headers) and remembers it; verify-webhook-signature answers SUCCESS for exactly that delivery,
to that webhook id, with that event, and FAILURE for anything else. Signatures here are random
bytes: only the sandbox can tell which ones it "sent", as only PayPal can for real ones.
"""

import base64
import contextlib
import copy
import json
import math
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

CLIENT_ID = "paydesk-test-client"
CLIENT_SECRET = "paydesk-test-secret"
APP_ID = "APP-80W284485P519543T"
SCOPES = (
    "https://uri.paypal.com/services/payments/payment "
    "https://uri.paypal.com/services/payments/refund"
)
# Card number → (processor response_code, cvv_code) of a payment the issuer declines.
ISSUER_DECLINES = {
    "4000000000009995": ("5120", "M"),  # INSUFFICIENT_FUNDS
    "4000000000000069": ("5400", "M"),  # EXPIRED_CARD
    "4000000000000127": ("5110", "N"),  # CVV2_FAILURE
}
INSTRUMENT_DECLINED = "4000000000000002"
NEEDS_3DS = "4000002760003184"
# Transaction event codes of what the sandbox books itself.
CAPTURE_EVENT = "T0006"  # a payment through PayPal's Checkout APIs
REFUND_EVENT = "T1107"  # a refund the merchant made
SEARCH_WINDOW_LIMIT = timedelta(days=31)
SEARCH_PAGE_SIZE_LIMIT = 500
# verify-webhook-signature's fields (all required) → the delivery header each comes from.
WEBHOOK_SIGNATURE_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}
ERROR_NAMES = {
    400: "INVALID_REQUEST",
    401: "AUTHENTICATION_FAILURE",
    403: "NOT_AUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_REACHED",
}

Answer = tuple[int, dict[str, Any]]


class PayPalSandbox:
    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl_seconds = 32400
        self.delay_seconds = 0.0
        self.single_step = True
        self.url = ""
        self.frozen_at: datetime | None = None
        self.search_lag = timedelta(0)
        # Orders, authorizations, captures and refunds by id, as PayPal shows them.
        self.resources: dict[str, dict[str, dict[str, Any]]] = {
            kind: {} for kind in ("orders", "authorizations", "captures", "refunds")
        }
        self.requests: list[tuple[str, str, str]] = []  # (method, path, PayPal-Request-Id)
        self.searches: list[dict[str, str]] = []  # the query of each transaction search
        self._booked: list[tuple[datetime, dict[str, Any]]] = []  # (when, transaction_info)
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}  # token → when it expires (monotonic)
        self._answers: dict[str, Answer] = {}  # by PayPal-Request-Id
        self._failures: list[tuple[int, bool]] = []  # (status, after processing)
        self._cards: dict[str, str] = {}  # APPROVED order → card number, until it is paid
        self._refunded: dict[str, Decimal] = {}  # capture id → total refunded
        # Webhook deliveries sent, by transmission id: what verify-webhook-signature accepts.
        self._transmissions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None

    def start(self) -> str:
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(
        self, count: int = 1, *, status: int = 500, after_processing: bool = False
    ) -> None:
        """Answer the next `count` API calls with `status`; after processing, the call takes
        effect first (the answer is lost, not the request)."""
        with self._lock:
            self._failures.extend([(status, after_processing)] * count)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def now(self) -> datetime:
        return self.frozen_at or datetime.now(UTC)

    def book(
        self, event_code: str, amount: dict[str, str], *, status: str = "S", **fields: Any
    ) -> dict[str, Any]:
        """Add a row to the transaction search, made now, as PayPal books money movements."""
        with self._lock:
            return self._book(event_code, amount, status=status, transaction_id=_new_id(), **fields)

    def webhook_delivery(
        self, event: dict[str, Any], *, webhook_id: str
    ) -> tuple[bytes, dict[str, str]]:
        """`event` delivered to the webhook `webhook_id`: the request body and headers PayPal
        would send, remembered for verify-webhook-signature. A redelivery of the same event is
        a new transmission, as at PayPal."""
        transmission_id = str(uuid.uuid1())
        fields = {
            "auth_algo": "SHA256withRSA",
            "cert_url": "https://api.sandbox.paypal.com/v1/notifications/certs/"
            f"CERT-360caa42-fca2a594-{secrets.token_hex(4)}",
            "transmission_id": transmission_id,
            "transmission_sig": base64.b64encode(secrets.token_bytes(256)).decode(),
            "transmission_time": _now(),
        }
        with self._lock:
            self._transmissions[transmission_id] = {
                **fields,
                "webhook_id": webhook_id,
                "webhook_event": copy.deepcopy(event),
            }
        headers = {WEBHOOK_SIGNATURE_HEADERS[name]: value for name, value in fields.items()}
        return json.dumps(event).encode(), headers

    def answer(self, method: str, path: str, headers: Message, raw: bytes) -> Answer:
        path, _, query = path.partition("?")
        request_id = headers.get("PayPal-Request-Id", "")
        with self._lock:
            self.requests.append((method, path, request_id))
        if path == "/v1/oauth2/token":
            return self._token(headers.get("Authorization", ""), raw)
        time.sleep(self.delay_seconds)
        with self._lock:
            status, after_processing = self._failures.pop(0) if self._failures else (0, False)
            if status and not after_processing:
                return _refuse(status)
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            if self._tokens.get(token, 0) < time.monotonic():
                answer = 401, {"error": "invalid_token", "error_description": "Token expired"}
            elif method == "POST" and request_id in self._answers:
                # PayPal answers a repeat with what it recorded, as it is now: 200, not 201.
                answer = self._answers[request_id]
                answer = (200 if answer[0] == 201 else answer[0]), answer[1]
            else:
                request = json.loads(raw or b"{}") if method == "POST" else dict(parse_qsl(query))
                answer = self._route(method, path, request)
                if method == "POST" and request_id:
                    self._answers[request_id] = answer
        return _refuse(status) if status else answer

    def _token(self, authorization: str, raw: bytes) -> Answer:
        credentials = f"{self.client_id}:{self.client_secret}".encode()
        if authorization != "Basic " + base64.b64encode(credentials).decode() or (
            b"grant_type=client_credentials" not in raw
        ):
            return 401, {"error": "invalid_client", "error_description": "Authentication failed"}
        token = "A21AA" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_seconds
            self.tokens_issued += 1
        return 200, {
            "scope": SCOPES,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": APP_ID,
            "expires_in": self.token_ttl_seconds,
            "nonce": _now() + secrets.token_urlsafe(16),
        }

    def _route(self, method: str, path: str, request: dict[str, Any]) -> Answer:
        """`request`: a POST's JSON body, a GET's query parameters."""
        for route_method, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == route_method:
                try:
                    return getattr(self, handler)(request, *match.groups())
                except _NotFound:
                    break
        return _refuse(404, "INVALID_RESOURCE_ID")

    def _create_order(self, body: dict[str, Any]) -> Answer:
        order_id = _new_id()
        unit = {"reference_id": "default", **body["purchase_units"][0]}
        order: dict[str, Any] = {
            "id": order_id,
            "intent": body["intent"],
            "status": "CREATED",
            "purchase_units": [unit],
            "create_time": _timestamp(self.now()),
            "links": [self._link(f"/v2/checkout/orders/{order_id}", "self")],
        }
        card = body.get("payment_source", {}).get("card")
        if card is None:
            self.resources["orders"][order_id] = order
            return 201, order
        number = card["number"]
        if not _luhn_valid(number):
            return _refuse(400, "INVALID_PARAMETER_SYNTAX", "/payment_source/card/number", number)
        if card["expiry"] < datetime.now(UTC).strftime("%Y-%m"):
            return _refuse(422, "CARD_EXPIRED")
        if number == INSTRUMENT_DECLINED:
            return _refuse(422, "INSTRUMENT_DECLINED")
        order["payment_source"] = {
            "card": {"last_digits": number[-4:], "expiry": card["expiry"], "brand": "VISA"}
        }
        self.resources["orders"][order_id] = order
        verification = card.get("attributes", {}).get("verification", {}).get("method")
        if number == NEEDS_3DS or verification == "SCA_ALWAYS":
            order["status"] = "PAYER_ACTION_REQUIRED"
            helios = "https://www.sandbox.paypal.com/webapps/helios?action=verify&flow=3ds"
            order["links"].append(
                {"href": f"{helios}&cart_id={order_id}", "rel": "payer-action", "method": "GET"}
            )
            return 201, order
        if not self.single_step:
            order["status"] = "APPROVED"
            self._cards[order_id] = number
            return 201, order
        return 201, self._pay(order, number)

    def _complete_order(self, body: dict[str, Any], order_id: str, action: str) -> Answer:
        order = _find(self.resources["orders"], order_id)
        if order["status"] != "APPROVED":
            return _refuse(422, "ORDER_NOT_APPROVED")
        if action.upper() != order["intent"]:
            return _refuse(422, "ACTION_DOES_NOT_MATCH_INTENT")
        return 201, self._pay(order, self._cards.pop(order_id))

    def _pay(self, order: dict[str, Any], number: str) -> dict[str, Any]:
        unit = order["purchase_units"][0]
        declined = number in ISSUER_DECLINES
        code, cvv_code = ISSUER_DECLINES.get(number, ("0000", "M"))
        if order["intent"] == "CAPTURE":
            kind, status = "captures", "DECLINED" if declined else "COMPLETED"
        else:
            kind, status = "authorizations", "DENIED" if declined else "CREATED"
        self._add_payment(
            order,
            kind,
            f"/v2/checkout/orders/{order['id']}",
            status=status,
            amount=unit["amount"],
            **_pick(unit, "invoice_id", "custom_id"),
            processor_response={"avs_code": "Y", "cvv_code": cvv_code, "response_code": code},
        )
        order["status"] = "COMPLETED"
        return order

    def _capture_authorization(self, body: dict[str, Any], authorization_id: str) -> Answer:
        authorization = _find(self.resources["authorizations"], authorization_id)
        if authorization["status"] != "CREATED":
            issue = {"VOIDED": "AUTHORIZATION_VOIDED", "DENIED": "AUTHORIZATION_DENIED"}
            return _refuse(
                422, issue.get(authorization["status"], "AUTHORIZATION_ALREADY_CAPTURED")
            )
        amount = body.get("amount", authorization["amount"])
        if Decimal(amount["value"]) > Decimal(authorization["amount"]["value"]):
            return _refuse(422, "MAX_CAPTURE_AMOUNT_EXCEEDED")
        authorization["status"] = "CAPTURED"
        capture = self._add_payment(
            self._order_of(authorization),
            "captures",
            f"/v2/payments/authorizations/{authorization_id}",
            status="COMPLETED",
            amount=amount,
            final_capture=True,
            **_pick(body, "invoice_id"),
        )
        return 201, capture

    def _void(self, body: dict[str, Any], authorization_id: str) -> Answer:
        authorization = _find(self.resources["authorizations"], authorization_id)
        if authorization["status"] != "CREATED":
            voided = authorization["status"] == "VOIDED"
            return _refuse(422, "PREVIOUSLY_VOIDED" if voided else "PREVIOUSLY_CAPTURED")
        authorization["status"] = "VOIDED"
        return 200, authorization

    def _refund(self, body: dict[str, Any], capture_id: str) -> Answer:
        capture = _find(self.resources["captures"], capture_id)
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            return _refuse(422, "CAPTURE_FULLY_REFUNDED")
        captured = Decimal(capture["amount"]["value"])
        refunded = self._refunded.get(capture_id, Decimal(0))
        amount = body.get("amount") or {**capture["amount"], "value": str(captured - refunded)}
        if refunded + Decimal(amount["value"]) > captured:
            return _refuse(422, "REFUND_AMOUNT_EXCEEDED")
        refunded = self._refunded[capture_id] = refunded + Decimal(amount["value"])
        capture["status"] = "REFUNDED" if refunded == captured else "PARTIALLY_REFUNDED"
        refund = self._add_payment(
            self._order_of(capture),
            "refunds",
            f"/v2/payments/captures/{capture_id}",
            status="COMPLETED",
            amount=amount,
            **_pick(body, "invoice_id"),
        )
        return 201, refund

    def _verify_webhook_signature(self, body: dict[str, Any]) -> Answer:
        """SUCCESS only for a delivery the sandbox made, unchanged in every field."""
        for name in (*WEBHOOK_SIGNATURE_HEADERS, "webhook_id", "webhook_event"):
            if not body.get(name):
                return _refuse(400, "MISSING_REQUIRED_PARAMETER", f"/{name}")
        sent = self._transmissions.get(body["transmission_id"])
        verified = sent is not None and all(body[name] == value for name, value in sent.items())
        return 200, {"verification_status": "SUCCESS" if verified else "FAILURE"}

    def _show(self, query: dict[str, str], kind: str, resource_id: str) -> Answer:
        return 200, _find(self.resources[kind], resource_id)

    def _search_transactions(self, query: dict[str, str]) -> Answer:
        """Rows initiated between start_date and end_date (PayPal does not say whether the end
        is included; here it is), up to what the search has caught up with, by time."""
        self.searches.append(query)
        try:
            start, end = _parse_time(query["start_date"]), _parse_time(query["end_date"])
            page, page_size = int(query.get("page", "1")), int(query.get("page_size", "100"))
        except (KeyError, ValueError):
            return _refuse(400, "INVALID_PARAMETER_SYNTAX")
        # PayPal does not document the issue it names for these; the status is what counts.
        if not start <= end <= start + SEARCH_WINDOW_LIMIT:
            return _refuse(400, "INVALID_PARAMETER_VALUE", "end_date", query["end_date"])
        if page < 1 or not 1 <= page_size <= SEARCH_PAGE_SIZE_LIMIT:
            return _refuse(400, "INVALID_PARAMETER_VALUE", "page_size", str(page_size))
        refreshed = self.now() - self.search_lag
        served_until = min(end, refreshed)
        listed = sorted(
            ((at, row) for at, row in self._booked if start <= at <= served_until),
            key=lambda booked: booked[0],
        )
        first = (page - 1) * page_size
        return 200, {
            "transaction_details": [
                {"transaction_info": row} for _, row in listed[first : first + page_size]
            ],
            "start_date": _search_timestamp(start),
            # "The end date and time or the last date when the data can be served"
            "end_date": _search_timestamp(served_until),
            "last_refreshed_datetime": _search_timestamp(refreshed),
            "page": page,
            "total_items": len(listed),
            "total_pages": math.ceil(len(listed) / page_size),
        }

    def _book(
        self,
        event_code: str,
        amount: dict[str, str],
        *,
        status: str,
        transaction_id: str,
        **fields: Any,
    ) -> dict[str, Any]:
        at = self.now().replace(microsecond=0)
        row = {
            "transaction_id": transaction_id,
            "transaction_event_code": event_code,
            "transaction_initiation_date": _search_timestamp(at),
            "transaction_updated_date": _search_timestamp(at),
            "transaction_amount": amount,
            "transaction_status": status,
            **fields,
        }
        self._booked.append((at, row))
        return row

    def _add_payment(self, order: dict[str, Any], kind: str, up: str, **fields: Any) -> dict:
        """A capture, authorization or refund, filed under its kind and in its order."""
        payment_id = _new_id()
        path = f"/v2/payments/{kind}/{payment_id}"
        payment = {
            "id": payment_id,
            **fields,
            "create_time": _timestamp(self.now()),
            "links": [self._link(path, "self"), self._link(up, "up")],
        }
        if kind != "refunds":
            payment["supplementary_data"] = {"related_ids": {"order_id": order["id"]}}
        self.resources[kind][payment_id] = payment
        if payment["status"] == "COMPLETED" and kind in ("captures", "refunds"):
            self._book_payment(payment, kind)
        order["purchase_units"][0].setdefault("payments", {}).setdefault(kind, []).append(payment)
        return payment

    def _book_payment(self, payment: dict[str, Any], kind: str) -> None:
        """Book a capture (money in) or refund (money out) under its own id."""
        amount = payment["amount"]
        if kind == "refunds":
            amount = {**amount, "value": f"-{amount['value']}"}
        fields = _pick(payment, "invoice_id")
        if "custom_id" in payment:
            fields["custom_field"] = payment["custom_id"]
        event_code = REFUND_EVENT if kind == "refunds" else CAPTURE_EVENT
        self._book(event_code, amount, status="S", transaction_id=payment["id"], **fields)

    def _order_of(self, payment: dict[str, Any]) -> dict[str, Any]:
        return self.resources["orders"][payment["supplementary_data"]["related_ids"]["order_id"]]

    def _link(self, path: str, rel: str) -> dict[str, str]:
        return {"href": self.url + path, "rel": rel, "method": "GET"}


# (method, path pattern, PayPalSandbox method answering it)
ROUTES = [
    ("POST", r"/v2/checkout/orders", "_create_order"),
    ("POST", r"/v2/checkout/orders/(\w+)/(capture|authorize)", "_complete_order"),
    ("POST", r"/v2/payments/authorizations/(\w+)/capture", "_capture_authorization"),
    ("POST", r"/v2/payments/authorizations/(\w+)/void", "_void"),
    ("POST", r"/v2/payments/captures/(\w+)/refund", "_refund"),
    ("GET", r"/v2/(?:checkout|payments)/(orders|authorizations|captures|refunds)/(\w+)", "_show"),
    ("GET", r"/v1/reporting/transactions", "_search_transactions"),
    ("POST", r"/v1/notifications/verify-webhook-signature", "_verify_webhook_signature"),
]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the sandbox's state, not its log."""

    def _respond(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.server.sandbox.answer(method, self.path, self.headers, raw)
        payload = json.dumps(body).encode()
        # A client that gave up waiting (a timeout test) has closed the connection.
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    # A delayed answer still sleeping must not hold up a test's teardown.
    block_on_close = False

    def __init__(self, sandbox: PayPalSandbox) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sandbox = sandbox


class _NotFound(Exception):
    """No resource with that id: answered 404."""


def _find(resources: dict[str, dict[str, Any]], resource_id: str) -> dict[str, Any]:
    if resource_id not in resources:
        raise _NotFound(resource_id)
    return resources[resource_id]


def _pick(source: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source}


def _refuse(status: int, issue: str = "", field: str = "", value: str = "") -> Answer:
    """PayPal's error envelope; `field` and `value` name the offending input, as PayPal's
    validation errors do."""
    name = ERROR_NAMES.get(status, "INTERNAL_SERVER_ERROR")
    error: dict[str, Any] = {"name": name, "message": name.replace("_", " ").capitalize()}
    if issue:
        detail = {"issue": issue, "description": issue.replace("_", " ").capitalize()}
        error["details"] = [{**detail, **({"field": field, "value": value} if field else {})}]
        docs = "https://developer.paypal.com/docs/api/orders/v2/"
        error["links"] = [{"href": f"{docs}#error-{issue}", "rel": "information_link"}]
    return status, {**error, "debug_id": secrets.token_hex(7)}


def _luhn_valid(number: str) -> bool:
    digits = [int(digit) for digit in reversed(number) if digit.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return len(digits) == len(number) and total % 10 == 0


def _new_id() -> str:
    return secrets.token_hex(9).upper()[:17]


def _now() -> str:
    return _timestamp(datetime.now(UTC))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _search_timestamp(moment: datetime) -> str:
    """Transaction Search's times carry the offset as +0000 in PayPal's sample answers."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("no offset")
    return moment
