"""`/actuator/health`: the runbook's readiness check (Spring Boot Actuator's shape)."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_schema()")
        version, schema = cursor.fetchone()
    return {
        "status": "UP",
        "details": {"database": "PostgreSQL", "version": version, "schema": schema},
    }


def _cache() -> dict[str, Any]:
    cache.set("actuator:health", "ok", timeout=5)
    backend = "redis" if settings.REDIS_URL else "local-memory"
    if cache.get("actuator:health") != "ok":
        return {"status": "DOWN", "details": {"backend": backend}}
    return {"status": "UP", "details": {"backend": backend}}


def _broker() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "UP", "details": {"mode": "eager (no REDIS_URL)"}}
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    return {"status": "UP", "details": {"mode": "redis"}}


CHECKS = {"db": _database, "cache": _cache, "broker": _broker}


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    components: dict[str, Any] = {}
    for name, check in CHECKS.items():
        try:
            components[name] = check()
        except Exception as exc:  # a health check reports failures, it does not raise them
            components[name] = {"status": "DOWN", "details": {"error": type(exc).__name__}}
    up = all(component["status"] == "UP" for component in components.values())
    return JsonResponse(
        {"status": "UP" if up else "DOWN", "components": components}, status=200 if up else 503
    )
