from typing import Any

from django.core.management.base import CommandError

from audit.management.base import AuditedCommand
from payments.models import GatewayAccount
from payments.services.gateway_accounts import gateway_account_verify


class Command(AuditedCommand):
    help = "Check each gateway account's credentials with a harmless read call at the gateway."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--merchant", default="", help="Only this merchant (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = GatewayAccount.objects.select_related("merchant").order_by(
            "merchant__slug", "livemode", "priority"
        )
        if options["merchant"]:
            accounts = accounts.filter(merchant__slug=options["merchant"])
        failed = 0
        for account in accounts:
            ok, detail = gateway_account_verify(account)
            failed += not ok
            mode = "live" if account.livemode else "test"
            state = "" if account.enabled else " (disabled)"
            self.stdout.write(
                f"{'OK  ' if ok else 'FAIL'} {account.merchant.slug} {account.gateway} "
                f"{mode}{state}: {detail}"
            )
        self.stdout.write("sandbox: OK (built in, no credentials)")
        if failed:
            raise CommandError(f"{failed} gateway account(s) failed verification")
