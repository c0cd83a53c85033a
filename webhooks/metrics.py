"""Webhook metrics (the runbook lists webhook_processing_duration_seconds)."""

from prometheus_client import Gauge, Histogram

WEBHOOK_PROCESSING_DURATION = Histogram(
    "webhook_processing_duration_seconds",
    "Time to process one webhook (inbound: apply a gateway event; outbound: one delivery)",
    ["direction"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)

# Set by the outbound due-deliveries task (every few seconds) from Redis, when REDIS_URL is set.
WEBHOOK_QUEUE_DEPTH = Gauge(
    "webhook_queue_depth",
    "Tasks waiting on the Celery queue webhook_queue (LLEN)",
    multiprocess_mode="mostrecent",
)
WEBHOOK_DLQ_SIZE = Gauge(
    "webhook_dlq_size",
    "Dead-lettered webhooks waiting for an operator (LLEN webhook_dlq)",
    multiprocess_mode="mostrecent",
)
