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


def dlq_push(item: str) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.rpush(DLQ_KEY, item)
    except redis.RedisError:
        logger.warning("Could not mirror %s to %s; the database has it", item, DLQ_KEY)


def dlq_remove(item: str) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.lrem(DLQ_KEY, 0, item)
    except redis.RedisError:
        logger.warning("Could not remove %s from %s", item, DLQ_KEY)
