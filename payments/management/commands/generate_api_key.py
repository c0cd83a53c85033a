from typing import Any

from django.utils import timezone

from audit.management.base import AuditedCommand
from audit.management.durations import parse_duration
from payments.errors import PaydeskError
from payments.models import ApiKeyMode
from payments.services.api_keys import api_key_issue, merchant_get_or_create


class Command(AuditedCommand):
    help = "Issue an API key for a merchant (client). The secret is printed once."
    expected_errors = (PaydeskError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", required=True, help="Merchant slug or id (mer_…)")
        parser.add_argument(
            "--scopes", required=True, help="Comma-separated, e.g. payment:create,payment:read"
        )
        parser.add_argument("--mode", choices=ApiKeyMode.values, default=ApiKeyMode.TEST)
        parser.add_argument("--name", default="", help="What the key is for")
        parser.add_argument("--expires-in", default="", help="e.g. 90d; default: no expiry")

    def handle(self, *args: Any, **options: Any) -> None:
        from payments.models import Merchant

        client = options["client"]
        merchant = Merchant.objects.filter(id=client).first()
        if merchant is None:
            merchant, created = merchant_get_or_create(slug=client)
            if created:
                self.stdout.write(f"Created merchant {merchant.slug} ({merchant.id})")
        expires_at = (
            timezone.now() + parse_duration(options["expires_in"])
            if options["expires_in"]
            else None
        )
        issued = api_key_issue(
            merchant=merchant,
            scopes=[scope.strip() for scope in options["scopes"].split(",") if scope.strip()],
            mode=options["mode"],
            name=options["name"],
            expires_at=expires_at,
        )
        key = issued.api_key
        self.stdout.write(
            f"API key {key.id} for {merchant.slug} ({key.mode}), scopes: {','.join(key.scopes)}"
        )
        if key.expires_at:
            self.stdout.write(f"Expires: {key.expires_at.isoformat()}")
        self.stdout.write("Secret (shown once, store it now):")
        self.stdout.write(issued.secret)
