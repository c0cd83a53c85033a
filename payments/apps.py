from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import checks  # noqa: F401  (registers system checks)
        from payments.api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from payments.models import ApiKey, Merchant

        # This process forgets cached keys at once when it changes one through the ORM; every
        # process does on commit, through the triggers' notifications (api_key_cache).
        for model in (ApiKey, Merchant):
            for signal in (post_save, post_delete):
                signal.connect(_forget_api_keys, sender=model, dispatch_uid=f"api-keys-{model}")


def _forget_api_keys(**kwargs: Any) -> None:
    from payments.services.api_key_cache import api_key_cache_clear

    api_key_cache_clear()
