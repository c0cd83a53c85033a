"""The base of every merchant API view: API-key auth, scopes, and Idempotency-Key handling."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.errors import ErrorCode, InvalidRequest, PaydeskError
from payments.models import ApiKeyMode, Merchant
from payments.selectors import MAX_PAGE_SIZE, Cursor, Page
from payments.services.idempotency import (
    DeferredClaim,
    IdempotencyKeyTaken,
    StoredResponse,
    idempotency_claim,
    idempotency_complete,
    idempotency_held,
    idempotency_key_validate,
    idempotency_release,
    request_fingerprint,
)

# Answers that changed nothing: release the key so a corrected retry can reuse it.
_UNCHANGED_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})


class _Replay(Exception):
    def __init__(self, stored: StoredResponse) -> None:
        self.stored = stored


def idempotency_key_header(request: Any) -> str | None:
    """The request's `Idempotency-Key` header, read from the WSGI environ: `request.headers`
    would build a dictionary of every header for this one."""
    return request.META.get("HTTP_IDEMPOTENCY_KEY")


def rendered(status: int, body: Any) -> StoredResponse:
    """A JSON answer as the bytes the client gets (and a replay repeats)."""
    return StoredResponse(status, JSONRenderer().render(body))


def stored_response(stored: StoredResponse) -> HttpResponse:
    return HttpResponse(stored.body, status=stored.status, content_type="application/json")


class MerchantAPIView(APIView):
    required_scopes: dict[str, str] = {}
    # Views whose service claims the Idempotency-Key itself, in the statement that creates
    # the object (DeferredClaim): `self.deferred_claim`, run through `claimed_by_service`.
    # Every other POST's key is claimed here before the handler runs.
    defers_idempotency_claim = False
    deferred_claim: DeferredClaim | None = None
    _idempotency_claim: int | None = None
    # True when this request took over the key of an earlier one that died mid-way.
    idempotency_taken_over = False

    @property
    def merchant(self) -> Merchant:
        return self.request.user

    @property
    def livemode(self) -> bool:
        """Live keys see live objects only, test keys test objects only."""
        return self.request.auth.mode == ApiKeyMode.LIVE

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = idempotency_key_header(request)
        if request.method != "POST" or key is None:
            return
        key = idempotency_key_validate(key)
        fingerprint = request_fingerprint(
            method=request.method,
            path=request.path,
            body=request._request.body,
            livemode=self.livemode,
        )
        if self.defers_idempotency_claim:
            self.deferred_claim = DeferredClaim(
                merchant_id=self.merchant.id,
                key=key,
                fingerprint=fingerprint,
                render=self.render_created,
            )
            return
        self._claim(key, fingerprint)

    def _claim(self, key: str, fingerprint: str) -> None:
        claim = idempotency_claim(merchant=self.merchant, key=key, fingerprint=fingerprint)
        if claim.replay is not None:
            raise _Replay(claim.replay)
        self._idempotency_claim = claim.claim_id
        self.idempotency_taken_over = claim.taken_over

    def render_created(self, created: Any) -> StoredResponse:
        """The response a deferred claim stores for the object its service created."""
        raise NotImplementedError

    def claimed_by_service(
        self, create: Callable[[DeferredClaim | None], HttpResponse]
    ) -> HttpResponse:
        """Run `create` with the deferred claim. If the key turns out to be held, claim it the
        ordinary way (a replay, 409 or 422 leave from here) and run `create` without one: the
        request owns the key then (a dead request's, taken over) and its response is stored
        when it leaves. When the service stored the answer (`deferred.response`), `create`
        answers with those very bytes."""
        deferred = self.deferred_claim
        try:
            response = create(deferred)
        except IdempotencyKeyTaken:
            assert deferred is not None
            self.deferred_claim = None
            self._claim(deferred.key, deferred.fingerprint)
            return create(None)
        if deferred is None or deferred.claim_id is None or deferred.response is not None:
            return response
        # Claimed, but the service did not get to store the answer (a timeout, or the payment
        # settled by someone else meanwhile): store this one when it leaves.
        self._idempotency_claim = deferred.claim_id
        return response

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, _Replay):
            response = stored_response(exc.stored)
            response["Idempotent-Replayed"] = "true"
            return response
        deferred, self.deferred_claim = self.deferred_claim, None
        if isinstance(exc, OperationalError | InterfaceError):
            # The database went away mid-request: what this request committed is unknown
            # here, and its 503 must not become the key's answer. Its claim stays in progress
            # (it could not be written to anyway) until the lease lets a retry take it over
            # and answer with what was committed.
            self._idempotency_claim = None
        elif deferred is not None and not deferred.attempted and _refusal(exc):
            # Refused before the key was claimed: a key already in use still means 409 or
            # 422 (or its replay), as if it had been claimed first.
            try:
                replay = idempotency_held(
                    merchant=self.merchant, key=deferred.key, fingerprint=deferred.fingerprint
                )
            except PaydeskError as held:
                exc = held
            else:
                if replay is not None:
                    return self.handle_exception(_Replay(replay))
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)
        claim_id, self._idempotency_claim = self._idempotency_claim, None
        if claim_id is not None:
            if response.status_code in _UNCHANGED_STATUSES:
                idempotency_release(claim_id=claim_id)
            else:
                if isinstance(response, Response):
                    response.render()
                idempotency_complete(
                    claim_id=claim_id, status=response.status_code, body=response.content
                )
        return response

    def validated(self, serializer_class: type, data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list_response(self, page: Page, render: Any) -> Response:
        return Response(
            {
                "object": "list",
                "data": [render(item) for item in page.items],
                "has_more": page.has_more,
                "url": self.request.path,
            }
        )


def _refusal(exc: Exception) -> bool:
    status = exc.http_status if isinstance(exc, PaydeskError) else None
    if isinstance(exc, APIException):
        status = exc.status_code
    return status is not None and status < 500


def _query_int(
    params: Any, name: str, low: int, high: int, default: int | None = None
) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    # ASCII digits only ('²'.isdigit() is true but int() refuses it), and short enough that
    # int() never meets its 4300-digit limit.
    valid = raw.isascii() and raw.isdigit() and len(raw) <= 20
    if not valid or not low <= int(raw) <= high:
        raise InvalidRequest(
            f"{name} must be an integer from {low} to {high}.",
            code=ErrorCode.PARAMETER_INVALID,
            param=name,
        )
    return int(raw)


def query_params_check(params: Any, allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidRequest(
            f"Unknown query parameter: {unknown[0][:40]}",
            code=ErrorCode.PARAMETER_UNKNOWN,
            param=unknown[0][:40],
        )
    for name, values in params.lists():
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query.
        if any("\x00" in value for value in values):
            raise InvalidRequest(
                f"{name} cannot contain null characters.",
                code=ErrorCode.PARAMETER_INVALID,
                param=name,
            )


CURSOR_PARAMS = {"limit", "starting_after", "ending_before"}


def cursor_from_query(params: Any) -> Cursor:
    if params.get("starting_after") and params.get("ending_before"):
        raise InvalidRequest(
            "Use starting_after or ending_before, not both.",
            code=ErrorCode.PARAMETER_INVALID,
            param="ending_before",
        )
    return Cursor(
        limit=_query_int(params, "limit", 1, MAX_PAGE_SIZE, default=10),
        starting_after=params.get("starting_after") or None,
        ending_before=params.get("ending_before") or None,
    )


def timestamp_from_query(params: Any, name: str) -> dt.datetime | None:
    seconds = _query_int(params, name, 0, 10**11)
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
