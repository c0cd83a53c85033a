"""System checks: production must get its secrets from the environment."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from config.keys import parse_vault_keys


@register(Tags.security, deploy=False)
def check_secrets(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    if not settings.SECRET_KEY:
        errors.append(
            Error("SECRET_KEY is not set.", hint="Set it in the environment.", id="paydesk.E001")
        )
    try:
        parse_vault_keys(settings.VAULT_KEYS, settings.VAULT_FINGERPRINT_KEY)
    except ImproperlyConfigured as exc:
        errors.append(
            Error(
                f"Card vault keys: {exc}.",
                hint="Set VAULT_KEYS='1:<base64 32 bytes>' and VAULT_FINGERPRINT_KEY.",
                id="paydesk.E002",
            )
        )
    if settings.PRODUCTION and settings.DEBUG:
        errors.append(Error("DEBUG must be off in production.", id="paydesk.E003"))
    if settings.PRODUCTION and not settings.ALLOWED_HOSTS:
        errors.append(Error("ALLOWED_HOSTS is not set.", id="paydesk.E004"))
    return errors
