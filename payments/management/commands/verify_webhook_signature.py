import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from audit.management.base import AuditedCommand
from payments.gateways.stripe_gateway import stripe_signature_explain
from webhooks.models import WebhookAttempt, WebhookLog
from webhooks.outbound.endpoints import signing_secrets
from webhooks.outbound.signing import signature_explain


class Command(AuditedCommand):
    help = (
        "Check a webhook's signature and say why it fails: a stored inbound one (--log=ID), "
        "the last attempt of an outbound delivery (--delivery=ID), or a given payload "
        "(--payload=FILE --signature=HEADER [--secret=…]; with --webhook-id and "
        "--webhook-timestamp it is checked as a Standard Webhooks message we sent)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--log", type=int, help="Id of a stored inbound webhook (webhook_logs)")
        parser.add_argument("--payload", help="File holding the exact request body")
        parser.add_argument("--signature", default="", help="The Stripe-Signature header")
        parser.add_argument("--secret", default="", help="Default: STRIPE_WEBHOOK_SECRET")
        parser.add_argument("--delivery", help="Id of an outbound delivery to a merchant")
        parser.add_argument("--webhook-id", default="", help="Standard Webhooks message id")
        parser.add_argument("--webhook-timestamp", default="", help="Standard Webhooks time")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["delivery"] or options["webhook_id"]:
            self._outbound(options)
            return
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

    def _outbound(self, options: dict[str, Any]) -> None:
        if options["delivery"]:
            attempt = (
                WebhookAttempt.objects.select_related("delivery__endpoint")
                .filter(delivery_id=options["delivery"])
                .order_by("-attempted_at")
                .first()
            )
            if attempt is None:
                raise CommandError(f"No attempt of delivery {options['delivery']} is stored")
            headers = {key.lower(): value for key, value in attempt.request_headers.items()}
            message_id = headers.get("webhook-id", "")
            timestamp = headers.get("webhook-timestamp", "")
            header, body = headers.get("webhook-signature", ""), attempt.request_body
            secrets = (
                [options["secret"]]
                if options["secret"]
                else signing_secrets(attempt.delivery.endpoint, now=attempt.attempted_at)
            )
            label = f"delivery {attempt.delivery_id}, attempt at {attempt.attempted_at:%c}"
        else:
            if not options["payload"] or not options["secret"]:
                raise CommandError("A given message needs --payload=FILE and --secret=whsec_…")
            message_id, timestamp = options["webhook_id"], options["webhook_timestamp"]
            header, body = options["signature"], Path(options["payload"]).read_text()
            secrets, label = [options["secret"]], options["payload"]
        valid, why = signature_explain(
            signing_secrets=secrets,
            message_id=message_id,
            timestamp=timestamp,
            body=body,
            header=header,
        )
        self.stdout.write(f"{'VALID  ' if valid else 'INVALID'} {label}: {why}")
        if not valid:
            raise CommandError("signature does not verify")
