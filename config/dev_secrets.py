"""Secrets for development and the embedded demo, generated once per checkout.

Production reads every secret from the environment and has no defaults (see
`config.checks`). Outside production, missing secrets are generated into
`.data/dev-secrets.env` (git-ignored) the first time they are needed, so a fresh
machine runs without set-up and no key is ever committed.
"""

import base64
import secrets
from pathlib import Path


def _generated_values() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "VAULT_FINGERPRINT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def ensure_dev_secrets(path: Path) -> Path:
    """Create `path` with fresh random secrets unless it exists; return it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}={value}" for name, value in _generated_values().items()]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    return path
