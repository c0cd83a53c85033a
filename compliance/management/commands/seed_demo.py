"""Demo data for `make run`: a merchant, an admin login, a test API key and a few hundred
payments across statuses and currencies, some of them refunded, and a burst of card testing
that fraud screening held for review. Idempotent: a second run reuses what exists and prints
the same login and key (kept in .data/demo-credentials.json, outside git)."""

import json
import random
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.management.base import AuditedCommand
from compliance.operators import demo_login_ensure
from config.logging import luhn_valid
from payments.cards import CardInput
from payments.errors import AuthenticationFailed, PaydeskError
from payments.models import ApiKeyScope, Payment, PaymentStatus, RefundReason
from payments.services.api_keys import api_key_authenticate, api_key_issue, merchant_get_or_create
from payments.services.customers import customer_create
from payments.services.partitions import transaction_partitions_ensure
from payments.services.payments import payment_cancel, payment_capture, payment_create
from payments.services.refunds import refund_create

DEMO_PAYMENTS = 400
# One card paying again and again within the hour: past the runbook's "Unusual Transaction
# Pattern" (more than 100 per card per hour) screening holds the rest for review.
CARD_TESTING_BURST = 103
CARD_TESTING_NUMBER = "4000056655665556"
REFUNDED_SHARE = 0.08
CARDS = [
    ("good-visa", 70),  # one of GOOD_CARDS: succeeds
    ("5555555555554444", 10),  # succeeds (mastercard)
    ("4000000000000002", 5),  # generic decline
    ("4000000000009995", 5),  # insufficient funds
    ("4000000000000069", 3),  # expired card
    ("4000000000000127", 2),  # incorrect cvc
    ("4000002760003184", 5),  # 3-D Secure required
]
CURRENCIES = [("USD", 50), ("EUR", 25), ("GBP", 12), ("JPY", 8), ("KWD", 5)]


def _luhn_complete(prefix: str) -> str:
    """`prefix` plus the check digit that makes it Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable: one check digit always fits")


# Many distinct good cards, so the demo looks like real traffic to the velocity rules.
GOOD_CARDS = [_luhn_complete(f"4000056655{index:05d}") for index in range(60)]


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


def _card_number(rng: random.Random) -> str:
    number = _weighted(rng, CARDS)
    return rng.choice(GOOD_CARDS) if number == "good-visa" else number


# Demo back-office logins: the superuser, and one operator per runbook role.
DEMO_LOGINS: dict[str, str | None] = {
    "admin": None,
    "ops-admin": "payment-admin",
    "ops-operator": "payment-operator",
    "ops-viewer": "payment-viewer",
    "ops-auditor": "auditor",
}


class Command(AuditedCommand):
    help = "Load demo data idempotently and print the URL, login and API key."
    expected_errors = (PaydeskError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8092")

    def handle(self, *args: Any, **options: Any) -> None:
        credentials_path = Path(settings.DATA_DIR) / "demo-credentials.json"
        credentials = json.loads(credentials_path.read_text()) if credentials_path.exists() else {}
        merchant, _ = merchant_get_or_create(slug="demo-store", name="Demo Store")
        logins = credentials.setdefault("logins", {})
        totp = {}
        for username, role in DEMO_LOGINS.items():
            logins[username], totp[username] = demo_login_ensure(
                username=username, role=role, password=logins.get(username)
            )
        credentials["api_key"] = self._api_key(merchant, credentials.get("api_key"))
        credentials_path.write_text(json.dumps(credentials))
        credentials_path.chmod(0o600)
        transaction_partitions_ensure(months_back=2, months_ahead=3)
        created = self._payments(merchant)
        url = options["url"]
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Paydesk demo is ready"
                    + (f" ({created} demo payments created)" if created else ""),
                    f"  Back office:  {url}/admin/   login: admin / {logins['admin']}",
                    f"                TOTP for admin (authenticator app): {totp['admin']}",
                    "  One login per role (password, then the TOTP code):",
                    *(
                        f"    {name} ({role}) / {logins[name]}   {totp[name]}"
                        for name, role in DEMO_LOGINS.items()
                        if role
                    ),
                    f"  API:          {url}/api/v1/payments   docs: {url}/api/v1/docs",
                    f"  Test API key: {credentials['api_key']}",
                    f"  Health:       {url}/actuator/health",
                    f"  Try:  curl -s {url}/api/v1/payments?limit=3 "
                    f"-H 'Authorization: Bearer {credentials['api_key']}'",
                    "",
                ]
            )
        )

    def _api_key(self, merchant: Any, secret: str | None) -> str:
        if secret:
            try:
                api_key_authenticate(secret=secret)
                return secret
            except AuthenticationFailed:
                pass
        return api_key_issue(merchant=merchant, scopes=ApiKeyScope.values, name="demo").secret

    def _payments(self, merchant: Any) -> int:
        missing = DEMO_PAYMENTS - Payment.objects.filter(merchant=merchant).count()
        if missing <= 0:
            return 0
        started = timezone.now()
        rng = random.Random(42)
        customers = [
            customer_create(
                merchant=merchant, email=f"customer{i}@example.com", name=f"Customer {i}"
            )
            for i in range(20)
        ]
        burst = CARD_TESTING_BURST if missing == DEMO_PAYMENTS else 0
        for _ in range(missing - burst):
            self._payment(merchant, rng, rng.choice(customers).id)
        for _ in range(burst):
            payment_create(
                merchant=merchant,
                amount=100,
                currency="USD",
                card=CardInput(CARD_TESTING_NUMBER, 12, 2030, "123"),
                description="Card testing?",
            )
        self._spread_over_last_month(merchant, started)
        return missing

    def _payment(self, merchant: Any, rng: random.Random, customer_id: str) -> None:
        manual = rng.random() < 0.2
        payment = payment_create(
            merchant=merchant,
            amount=rng.randint(100, 50_000),
            currency=_weighted(rng, CURRENCIES),
            card=CardInput(_card_number(rng), 12, 2030, "123"),
            customer_id=customer_id,
            capture_method="manual" if manual else "automatic",
            description="Demo order",
        )
        roll = rng.random()
        if payment.status == PaymentStatus.AUTHORIZED:
            if roll < 0.4:
                payment_capture(
                    merchant=merchant, payment_id=payment.id, amount=payment.amount // 2 or 1
                )
            elif roll < 0.6:
                payment_cancel(
                    merchant=merchant, payment_id=payment.id, reason="requested_by_customer"
                )
        elif payment.status == PaymentStatus.COMPLETED and roll < REFUNDED_SHARE:
            partial = roll < REFUNDED_SHARE / 2
            refund_create(
                merchant=merchant,
                livemode=False,
                payment_id=payment.id,
                amount=(payment.amount // 3 or 1) if partial else None,
                reason=RefundReason.REQUESTED_BY_CUSTOMER,
            )

    def _spread_over_last_month(self, merchant: Any, since: Any) -> None:
        """Give demo payments, their refunds and ledger rows, and the sandbox's own records of
        them believable times over the last 30 days: each moves back by the same amount
        (from its payment's id), so daily reconciliation still finds both sides on the same
        day. A sanctioned maintenance write: the ledger is otherwise append-only."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL paydesk.maintenance = 'on'")
            cursor.execute(_DEMO_SHIFTS, [merchant.id, since])
            for statement in _SHIFT_BACK:
                cursor.execute(statement)


# How far back each demo payment (and all that belongs to it) moves.
_DEMO_SHIFTS = """
CREATE TEMPORARY TABLE demo_shift ON COMMIT DROP AS
SELECT id AS payment_id, make_interval(secs => abs(hashtext(id)) %% (30 * 86400)) AS back
FROM payments WHERE merchant_id = %s AND created_at >= %s
"""
# Gateway idempotency keys are `<payment or refund id>:<operation>:<attempt>`.
_SHIFT_BACK = [
    "UPDATE transactions AS t SET created_at = t.created_at - s.back "
    "FROM demo_shift AS s WHERE t.payment_id = s.payment_id",
    "UPDATE sandbox_operations AS o SET created_at = o.created_at - s.back "
    "FROM demo_shift AS s WHERE split_part(o.idempotency_key, ':', 1) = s.payment_id",
    "UPDATE sandbox_operations AS o SET created_at = o.created_at - s.back "
    "FROM demo_shift AS s JOIN refunds AS r ON r.payment_id = s.payment_id "
    "WHERE split_part(o.idempotency_key, ':', 1) = r.id",
    "UPDATE refunds AS r SET created_at = r.created_at - s.back, "
    "updated_at = r.updated_at - s.back FROM demo_shift AS s WHERE r.payment_id = s.payment_id",
    "UPDATE payments AS p SET created_at = p.created_at - s.back "
    "FROM demo_shift AS s WHERE p.id = s.payment_id",
]
