import pytest
import redis
from django.conf import settings

from tests.webhooks.receiver import Receiver
from webhooks.dead_letters import DLQ_KEY


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    """The receiver listens on 127.0.0.1 over http; SSRF tests switch this off."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def enqueued(monkeypatch) -> list[str]:
    """Delivery ids handed to the Celery queue after commit, recorded instead of sent (no
    worker listens in these tests)."""
    queued: list[str] = []
    monkeypatch.setattr("webhooks.outbound.queues._enqueue", queued.extend)
    return queued


@pytest.fixture
def dlq():
    """The Redis list webhook_dlq in the tests' own Redis database, empty at the start."""
    if not settings.REDIS_URL:
        pytest.skip("the webhook_dlq list lives in Redis: needs REDIS_URL (CI sets it)")
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.delete(DLQ_KEY)
    yield client
    client.delete(DLQ_KEY)
