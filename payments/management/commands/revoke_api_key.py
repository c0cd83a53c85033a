from typing import Any

from audit.management.base import AuditedCommand
from payments.errors import PaydeskError
from payments.services.api_keys import api_key_find, api_key_revoke


class Command(AuditedCommand):
    help = "Revoke an API key at once (by its secret sk_… or its id key_…)."
    expected_errors = (PaydeskError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--key", required=True, help="The secret (sk_…) or the key id (key_…)")
        parser.add_argument("--reason", default="", help="Why, for the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = api_key_revoke(api_key=api_key_find(key=options["key"]), reason=options["reason"])
        self.stdout.write(
            f"Revoked {api_key.id} ({api_key.masked}) of {api_key.merchant.slug} "
            f"at {api_key.revoked_at.isoformat()}"
        )
