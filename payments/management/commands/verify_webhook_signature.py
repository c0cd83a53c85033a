import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from audit.management.base import AuditedCommand
from payments.gateways.stripe_gateway import stripe_signature_explain
from webhooks.models import WebhookLog


class Command(AuditedCommand):
    help = (
        "Check a webhook's signature and say why it fails: a stored inbound one (--log=ID) or "
        "a given payload (--payload=FILE --signature=HEADER [--secret=…])."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--log", type=int, help="Id of a stored inbound webhook (webhook_logs)")
        parser.add_argument("--payload", help="File holding the exact request body")
        parser.add_argument("--signature", default="", help="The Stripe-Signature header")
        parser.add_argument("--secret", default="", help="Default: STRIPE_WEBHOOK_SECRET")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = options["secret"] or settings.STRIPE_WEBHOOK_SECRET
        if options["log"] is not None:
            log = WebhookLog.objects.filter(pk=options["log"]).first()
            if log is None:
                raise CommandError(f"No stored webhook #{options['log']}")
            if log.provider != "stripe":
                raise CommandError(f"Webhook #{log.id} is from {log.provider}: not checked here")
            payload = log.body.encode()
            header = next(
                (v for k, v in log.headers.items() if k.lower() == "stripe-signature"), ""
            )
            label = f"webhook #{log.id} ({log.event_type or 'unverified'}, {log.status})"
        elif options["payload"]:
            payload = Path(options["payload"]).read_bytes()
            header, label = options["signature"], options["payload"]
        else:
            raise CommandError("Give --log=ID, or --payload=FILE with --signature=HEADER")
        valid, why = stripe_signature_explain(payload, header, secret, now=time.time())
        self.stdout.write(f"{'VALID  ' if valid else 'INVALID'} {label}: {why}")
        if not valid:
            raise CommandError("signature does not verify")
