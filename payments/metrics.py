"""The runbook's payment metrics (ops-guide: Prometheus Metrics and the Grafana queries).

Under gunicorn, `make run` sets PROMETHEUS_MULTIPROC_DIR so every worker's samples are
aggregated at /metrics.
"""

from prometheus_client import Counter, Gauge, Histogram

PAYMENT_ATTEMPTS = Counter(
    "payment_attempts_total", "Payment authorizations attempted", ["gateway"]
)
PAYMENT_SUCCESS = Counter("payment_success_total", "Payments authorized or captured", ["gateway"])
PAYMENT_PROCESSING = Counter(
    "payment_processing_total", "Payments processed, by outcome", ["gateway", "status"]
)
PAYMENT_PROCESSING_DURATION = Histogram(
    "payment_processing_duration_seconds",
    "Time to process a payment (screening, gateway, recording)",
    ["gateway"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
PAYMENT_GATEWAY_ERRORS = Counter(
    "payment_gateway_errors_total",
    "Gateway calls that failed or declined",
    ["gateway", "error_type"],
)
PAYMENT_REFUNDS = Counter(
    "payment_refunds_total", "Refunds settled, by outcome", ["gateway", "status"]
)
PAYMENT_RECOVERY = Counter(
    "payment_recovery_total",
    "Stalled gateway operations recovery settled, found never happened, or flagged",
    ["gateway", "outcome"],
)
GATEWAY_BREAKER_STATE = Gauge(
    "payment_gateway_circuit_breaker_state",
    "Circuit breaker per gateway as callers obey it: 0 closed, 1 half-open, 2 open",
    ["gateway"],
    multiprocess_mode="mostrecent",
)
