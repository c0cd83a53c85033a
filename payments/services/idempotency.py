"""Idempotency keys: claim a key before doing the work, store the exact response after.

Same key + same request → the stored response, byte for byte, with no new side effect.
Same key + different request → 422. Same key while the first is still running → 409.
The unique constraint (merchant, key) decides who owns a key under concurrency.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

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


def idempotency_key_validate(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
            code=ErrorCode.IDEMPOTENCY_KEY_INVALID,
            param="Idempotency-Key",
        )
    return key


_CLAIM_SQL = f"""
INSERT INTO {IdempotencyKey._meta.db_table}
    (merchant_id, key, request_fingerprint, status, created_at, expires_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (merchant_id, key) DO UPDATE
    SET request_fingerprint = EXCLUDED.request_fingerprint, status = EXCLUDED.status,
        response_status = NULL, response_body = NULL,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE {IdempotencyKey._meta.db_table}.expires_at <= EXCLUDED.created_at
RETURNING id
"""  # noqa: S608 (table name from our model, values are parameters)


def idempotency_claim(*, merchant: Merchant, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this request.

    One statement, committed on its own, so a concurrent duplicate sees the claim at once.
    An expired key (older than 24 h) is taken over as new; one left in progress longer than
    IN_PROGRESS_LEASE by a request that died is taken over by one retry (the others get 409).
    """
    now = timezone.now()
    expires = now + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            [merchant.id, key, fingerprint, IdempotencyStatus.IN_PROGRESS, now, expires],
        )
        row = cursor.fetchone()
    if row is not None:
        return Claim(claim_id=row[0])
    existing = IdempotencyKey.objects.filter(merchant=merchant, key=key).first()
    if existing is None:  # deleted (released) between our insert and read: try again once
        return idempotency_claim(merchant=merchant, key=key, fingerprint=fingerprint)
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "Keys for idempotent requests can only be used with the same parameters they were "
            "first used with. Use a new Idempotency-Key for a different request.",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            param="Idempotency-Key",
        )
    if existing.status == IdempotencyStatus.IN_PROGRESS:
        if existing.created_at < now - IN_PROGRESS_LEASE and _take_over(existing, now):
            return Claim(claim_id=existing.pk, taken_over=True)
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
            param="Idempotency-Key",
        )
    return Claim(replay=StoredResponse(existing.response_status, bytes(existing.response_body)))


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
