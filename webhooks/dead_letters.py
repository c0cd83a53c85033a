"""The Redis list `webhook_dlq` (the runbook reads it with `redis-cli lrange webhook_dlq 0 10`):
a mirror of what is dead-lettered in the database, which stays the record. Without Redis
(the embedded demo) there is no list and these do nothing."""

import logging

import redis
from django.conf import settings

logger = logging.getLogger("webhooks.DeadLetters")

DLQ_KEY = "webhook_dlq"


def _redis() -> redis.Redis | None:
    return (
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2) if settings.REDIS_URL else None
    )


def dlq_push(*items: str) -> None:
    client = _redis()
    if client is None or not items:
        return
    try:
        client.rpush(DLQ_KEY, *items)
    except redis.RedisError:
        logger.warning("Could not mirror %s to %s; the database has it", ", ".join(items), DLQ_KEY)


def dlq_remove(*items: str) -> None:
    client = _redis()
    if client is None or not items:
        return
    try:
        with client.pipeline(transaction=False) as pipe:
            for item in items:
                pipe.lrem(DLQ_KEY, 0, item)
            pipe.execute()
    except redis.RedisError:
        logger.warning("Could not remove %s from %s", ", ".join(items), DLQ_KEY)


def redis_list_length(key: str) -> int | None:
    """LLEN of a Redis list (the DLQ, or a Celery queue on the broker); None without Redis
    or when it cannot be reached."""
    client = _redis()
    if client is None:
        return None
    try:
        return client.llen(key)
    except redis.RedisError:
        return None
