"""Idempotency keys: claim a key before doing the work, store the exact response after.

Same key + same request → the stored response, byte for byte, with no new side effect.
Same key + different request → 422. Same key while the first is still running → 409.
The unique constraint (merchant, key) decides who owns a key under concurrency.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.db.statements import Statement
from payments.errors import (
    ErrorCode,
    IdempotencyError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
)
from payments.models import IdempotencyKey, IdempotencyStatus, Merchant

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: we own it (`claim_id`), or `replay` the stored answer.
    `taken_over` means an earlier request with this key died mid-way: it may have created
    its object, which the caller must look for before doing the work again."""

    claim_id: int | None = None
    replay: StoredResponse | None = None
    taken_over: bool = False


@dataclass
class DeferredClaim:
    """An Idempotency-Key that the creating service claims in the same statement as the
    object it creates, and whose response it stores in the statement that settles the
    object: the payment hot path's round trips and commits, two fewer each (see
    docs/performance.md). `render` turns the settled object into the response the client
    gets.

    If the key is taken, the service raises IdempotencyKeyTaken having written nothing; the
    caller then claims it the ordinary way (idempotency_claim: replay, 409, 422, or a takeover
    of a dead request's key)."""

    merchant_id: str
    key: str
    fingerprint: str
    render: Callable[[Any], StoredResponse]
    attempted: bool = False
    claim_id: int | None = None
    response: StoredResponse | None = None


class IdempotencyKeyTaken(Exception):
    """A deferred claim found its key held: nothing was written."""


# A request still "in progress" after this long has died (gunicorn kills a request after
# 30 s): a retry takes the key over instead of getting 409 until the key expires.
IN_PROGRESS_LEASE = dt.timedelta(minutes=2)


def request_fingerprint(*, method: str, path: str, body: bytes, livemode: bool) -> str:
    """A keyed hash of the request (HMAC with a key derived from SECRET_KEY): the body may
    hold a card number and CVC, and an unkeyed hash of those could be brute-forced from the
    BIN, last 4 and expiry we store. The mode is part of it, so a test key can never replay a
    live response."""
    message = b"\n".join([b"live" if livemode else b"test", method.encode(), path.encode(), body])
    return salted_hmac("paydesk.idempotency", message, algorithm="sha256").hexdigest()


def idempotency_key_expired_in_use() -> IdempotencyKeyReused:
    """For a request whose key's record expired (24 h) while the object created with it
    lives on (payments and refunds keep their key: one object per key, ever)."""
    return IdempotencyKeyReused(
        "This Idempotency-Key was used more than 24 hours ago for another request. "
        "Use a new Idempotency-Key.",
        code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        param="Idempotency-Key",
    )


def idempotency_key_validate(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
            code=ErrorCode.IDEMPOTENCY_KEY_INVALID,
            param="Idempotency-Key",
        )
    return key


# Plain str for the statements' parameters: psycopg finds the dumper of a str subclass (a
# TextChoices member) by walking its MRO, on every cursor.
_IN_PROGRESS = str(IdempotencyStatus.IN_PROGRESS)
_COMPLETED = str(IdempotencyStatus.COMPLETED)

_CLAIM_SQL = f"""
INSERT INTO {IdempotencyKey._meta.db_table}
    (merchant_id, key, request_fingerprint, status, response_status, response_body,
     created_at, expires_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (merchant_id, key) DO UPDATE
    SET request_fingerprint = EXCLUDED.request_fingerprint, status = EXCLUDED.status,
        response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE {IdempotencyKey._meta.db_table}.expires_at <= EXCLUDED.created_at
RETURNING id
"""  # noqa: S608 (table name from our model, values are parameters)


def _claim_params(
    merchant_id: str,
    key: str,
    fingerprint: str,
    response: StoredResponse | None,
    now: dt.datetime,
) -> list[Any]:
    return [
        merchant_id,
        key,
        fingerprint,
        _IN_PROGRESS if response is None else _COMPLETED,
        None if response is None else response.status,
        None if response is None else response.body,
        now,
        now + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
    ]


def deferred_claim_statement(
    claim: DeferredClaim, *, response: StoredResponse | None = None
) -> Statement:
    """The claim, for the creating statement's guard (`RETURNING id`): in progress, or
    already completed with `response` when the object is settled by that statement."""
    claim.attempted = True
    return Statement(
        _CLAIM_SQL,
        _claim_params(claim.merchant_id, claim.key, claim.fingerprint, response, timezone.now()),
    )


def deferred_completion_statement(claim: DeferredClaim, response: StoredResponse) -> Statement:
    """Store `response` for a claimed key, inside the statement that settles its object
    (applies only if that statement's `guard` matched)."""
    return Statement(
        f"UPDATE {IdempotencyKey._meta.db_table} "  # noqa: S608 (table name from our model)
        "SET status = %s, response_status = %s, response_body = %s "
        "WHERE id = %s AND EXISTS (SELECT FROM guard)",
        [_COMPLETED, response.status, response.body, claim.claim_id],
    )


def idempotency_claim(*, merchant: Merchant, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this request.

    One statement, committed on its own, so a concurrent duplicate sees the claim at once.
    An expired key (older than 24 h) is taken over as new; one left in progress longer than
    IN_PROGRESS_LEASE by a request that died is taken over by one retry (the others get 409).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, _claim_params(merchant.id, key, fingerprint, None, now))
        row = cursor.fetchone()
    if row is not None:
        return Claim(claim_id=row[0])
    existing = IdempotencyKey.objects.filter(merchant=merchant, key=key).first()
    if existing is None:  # deleted (released) between our insert and read: try again once
        return idempotency_claim(merchant=merchant, key=key, fingerprint=fingerprint)
    return _claim_held(existing, fingerprint, now=now)


def idempotency_held(*, merchant: Merchant, key: str, fingerprint: str) -> StoredResponse | None:
    """For a request refused before it claimed its key: if the key is already held, what
    that means (its stored response to replay, or 409/422 raised); None if it is free."""
    existing = IdempotencyKey.objects.filter(
        merchant=merchant, key=key, expires_at__gt=timezone.now()
    ).first()
    if existing is None:
        return None
    _same_request(existing, fingerprint)
    if existing.status == IdempotencyStatus.IN_PROGRESS:
        raise _in_use()
    return _stored(existing)


def _claim_held(existing: IdempotencyKey, fingerprint: str, *, now: dt.datetime) -> Claim:
    """Someone holds the key: 422 for another request, 409 while it runs, a takeover if it
    died, or its stored response."""
    _same_request(existing, fingerprint)
    if existing.status == IdempotencyStatus.IN_PROGRESS:
        if existing.created_at < now - IN_PROGRESS_LEASE and _take_over(existing, now):
            return Claim(claim_id=existing.pk, taken_over=True)
        raise _in_use()
    return Claim(replay=_stored(existing))


def _same_request(existing: IdempotencyKey, fingerprint: str) -> None:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "Keys for idempotent requests can only be used with the same parameters they were "
            "first used with. Use a new Idempotency-Key for a different request.",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            param="Idempotency-Key",
        )


def _in_use() -> IdempotencyKeyInUse:
    return IdempotencyKeyInUse(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
        param="Idempotency-Key",
    )


def _stored(existing: IdempotencyKey) -> StoredResponse:
    return StoredResponse(existing.response_status, bytes(existing.response_body))


def _take_over(existing: IdempotencyKey, now: dt.datetime) -> bool:
    """Renew a dead request's claim for us; of several retries exactly one wins."""
    return bool(
        IdempotencyKey.objects.filter(
            pk=existing.pk,
            status=IdempotencyStatus.IN_PROGRESS,
            created_at=existing.created_at,
        ).update(created_at=now)
    )


_COMPLETE_SQL = f"""
UPDATE {IdempotencyKey._meta.db_table}
    SET status = %s, response_status = %s, response_body = %s WHERE id = %s
"""  # noqa: S608 (table name from our model, values are parameters)


def idempotency_complete(*, claim_id: int, status: int, body: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_COMPLETE_SQL, [IdempotencyStatus.COMPLETED, status, body, claim_id])


def idempotency_release(*, claim_id: int) -> None:
    """Forget a claim whose request changed nothing (it failed validation), so the client
    can correct the request and retry with the same key."""
    IdempotencyKey.objects.filter(pk=claim_id).delete()


def idempotency_keys_purge() -> int:
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
