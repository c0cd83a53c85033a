"""Webhook metrics (the runbook lists webhook_processing_duration_seconds)."""

from prometheus_client import Histogram

WEBHOOK_PROCESSING_DURATION = Histogram(
    "webhook_processing_duration_seconds",
    "Time to process one webhook (inbound: apply a gateway event; outbound: one delivery)",
    ["direction"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)
