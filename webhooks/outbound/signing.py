"""Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
`{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's bytes (the base64 after
`whsec_`). Several space-separated signatures are allowed, which is how a rolled secret
keeps working for a while."""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    *, signing_secrets: Iterable[str], message_id: str, timestamp: int, body: str
) -> str:
    return " ".join(
        signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in signing_secrets
    )


def signature_explain(
    *, signing_secrets: Iterable[str], message_id: str, timestamp: str, body: str, header: str
) -> tuple[bool, str]:
    """Whether `header` (webhook-signature) signs this message with one of the secrets, and
    in words why not."""
    if not header:
        return False, "no webhook-signature header"
    if not message_id or not timestamp.isdigit():
        return False, "webhook-id or webhook-timestamp missing or malformed"
    offered = [part.removeprefix("v1,") for part in header.split() if part.startswith("v1,")]
    if not offered:
        return False, "no v1,<base64> signature in the header"
    candidates = list(signing_secrets)
    if not candidates:
        return False, "no secret to check against"
    for secret in candidates:
        try:
            expected = signature(
                secret=secret, message_id=message_id, timestamp=int(timestamp), body=body
            ).removeprefix("v1,")
        except ValueError:
            return False, "the secret is not whsec_<base64>"
        if any(hmac.compare_digest(expected, value) for value in offered):
            return True, "signature valid"
    return False, (
        "no signature matches: another (or an expired previous) secret, or the body, id or "
        "timestamp changed after signing"
    )
