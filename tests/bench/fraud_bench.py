"""`make bench-fraud`: the latency fraud screening adds to a payment, with 1,000,000 payments
of history.

Loads 1,000,000 observations (the engine's history of payment attempts: 50,000 cards,
80,000 customers, 90,000 emails, 62,500 IPs, spread over 30 days, plus one "hot" card with
5,000 attempts in the last hour) into the database `make run` uses, then times
`fraud_screen()` (history statement + evaluation, exactly what a payment runs) for 2,000
payment contexts with the runbook rules plus velocity rules per customer, email and IP, a
first-payment threshold and a blocklist rule. Prints p50/p90/p99/max. The loaded rows carry
merchant_id 'mer_bench' and are deleted at the end. Environment: BENCH_HISTORY (1000000),
BENCH_SAMPLES (2000).
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_MERCHANT = "mer_bench"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load_history(size: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fraud_observations WHERE merchant_id = %s", [BENCH_MERCHANT])
        cursor.execute(
            """
            INSERT INTO fraud_observations (kind, merchant_id, card_fingerprint, customer_id, email,
                ip_address, latitude, longitude, amount, currency, created_at)
            SELECT 'attempt', %s, md5('card' || (i %% 50000)), 'cus_' || (i %% 80000),
                'user' || (i %% 90000) || '@example.com',
                ('10.' || (i %% 250) || '.' || ((i / 250) %% 250) || '.1')::inet,
                random() * 120 - 60, random() * 360 - 180, 1000 + i %% 5000, 'USD',
                now() - random() * interval '30 days'
            FROM generate_series(1, %s) AS i
            """,
            [BENCH_MERCHANT, size],
        )
        cursor.execute(
            """
            INSERT INTO fraud_observations (kind, merchant_id, card_fingerprint, customer_id, email,
                amount, currency, created_at)
            SELECT 'attempt', %s, md5('hot card'), 'cus_hot', 'hot@example.com', 100, 'USD',
                now() - random() * interval '1 hour'
            FROM generate_series(1, 5000)
            """,
            [BENCH_MERCHANT],
        )
        cursor.execute("ANALYZE fraud_observations")


def bench_rules() -> None:
    from fraud.rules import RuleSpec
    from fraud.rules_file import parse_rules
    from fraud.services import fraud_rules_apply

    runbook = parse_rules((ROOT / "fraud" / "runbook-rules.yaml").read_text())
    review = "flag_for_review"
    extra = [
        RuleSpec(
            f"bench velocity {per}",
            "velocity",
            {"max_count": 20, "window_seconds": 3600, "per": per},
            review,
        )
        for per in ("customer", "email", "ip")
    ]
    extra += [
        RuleSpec(
            "bench first payment", "first_payment_amount", {"thresholds": {"USD": 100_000}}, review
        ),
        RuleSpec("bench blocklist", "blocklist", {}, "block"),
    ]
    fraud_rules_apply(runbook + extra)


def contexts(count: int) -> list:
    import hashlib

    from fraud.engine import FraudContext

    rng = random.Random(7)
    result = []
    for index in range(count):
        card = "hot card" if index % 20 == 0 else f"card{rng.randrange(60000)}"
        result.append(
            FraudContext(
                merchant_id=BENCH_MERCHANT,
                payment_id=f"pay_bench{index}",
                amount=rng.randrange(100, 200_000),
                currency="USD",
                # md5 only to match the fingerprints the SQL above generated
                card_fingerprint=hashlib.md5(card.encode()).hexdigest(),  # noqa: S324
                customer_id=f"cus_{rng.randrange(90000)}",
                email=f"user{rng.randrange(95000)}@example.com",
                ip_address=f"10.{rng.randrange(250)}.{rng.randrange(250)}.1",
                latitude=rng.uniform(-60, 60),
                longitude=rng.uniform(-180, 180),
            )
        )
    return result


def main() -> None:
    setup_django()
    from django.db import connection

    from fraud.services import fraud_screen

    size = int(os.environ.get("BENCH_HISTORY", "1000000"))
    samples = int(os.environ.get("BENCH_SAMPLES", "2000"))
    started = time.monotonic()
    load_history(size)
    print(f"Loaded {size + 5000:,} observations in {time.monotonic() - started:.0f}s")
    bench_rules()
    work = contexts(samples)
    for context in work[:100]:  # warm-up: connection, prepared statements, caches
        fraud_screen(context)
    timings, decisions = [], {}
    for context in work:
        began = time.perf_counter()
        screening = fraud_screen(context)
        timings.append((time.perf_counter() - began) * 1000)
        decision = str(screening.action)
        decisions[decision] = decisions.get(decision, 0) + 1
    timings.sort()

    def percentile(share: float) -> float:
        return timings[min(len(timings) - 1, int(share * len(timings)))]

    print(
        f"fraud_screen over {size:,} historical payments, {samples} payments, "
        f"{len(decisions)} decision kinds {decisions}:\n"
        f"  p50 {percentile(0.50):.2f} ms, p90 {percentile(0.90):.2f} ms, "
        f"p99 {percentile(0.99):.2f} ms, max {timings[-1]:.2f} ms, "
        f"mean {statistics.fmean(timings):.2f} ms"
    )
    from fraud.models import FraudRule
    from fraud.services import rules_cache_clear

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fraud_observations WHERE merchant_id = %s", [BENCH_MERCHANT])
    FraudRule.objects.filter(name__startswith="bench ").delete()
    rules_cache_clear()


if __name__ == "__main__":
    main()
