"""The per-process API key cache answers only what the database would, as of its last commit."""

import datetime as dt
import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.errors import AuthenticationFailed
from payments.models import ApiKey
from payments.services.api_key_cache import (
    _cache,
    api_key_cache_clear,
    api_key_cache_generation,
    api_key_cache_listening,
    api_key_cache_stop,
    api_key_row,
)
from payments.services.api_keys import api_key_authenticate, api_key_revoke
from tests.conftest import api_key_used_now, until_api_key_cache_notified

pytestmark = pytest.mark.django_db(transaction=True)


def _key_reads(captured) -> int:
    return sum(
        query["sql"].startswith("SELECT") and "api_keys" in query["sql"]
        for query in captured.captured_queries
    )


def _committed_elsewhere(sql: str, *params) -> None:
    """A change committed by another connection, as another program would make it."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute(sql, params)


def test_a_key_is_read_once_then_answered_from_the_cache(api_key, api_key_cache_ready):
    api_key_used_now(api_key)

    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert api_key_authenticate(secret=api_key.secret).id == api_key.api_key.id

    assert _key_reads(captured) == 1


def test_each_request_gets_its_own_instances(api_key, api_key_cache_ready):
    first = api_key_authenticate(secret=api_key.secret)
    second = api_key_authenticate(secret=api_key.secret)

    assert first is not second and first.merchant is not second.merchant
    assert first.scopes == second.scopes


def test_a_revocation_committed_by_another_program_applies_to_the_next_request(
    api_key, api_key_cache_ready
):
    api_key_authenticate(secret=api_key.secret)
    generation = api_key_cache_generation()

    _committed_elsewhere("UPDATE api_keys SET revoked_at = now() WHERE id = %s", api_key.api_key.id)
    until_api_key_cache_notified(generation)

    with pytest.raises(AuthenticationFailed):
        api_key_authenticate(secret=api_key.secret)


def test_a_merchant_deactivated_by_another_program_loses_its_keys(api_key, api_key_cache_ready):
    api_key_authenticate(secret=api_key.secret)
    generation = api_key_cache_generation()

    _committed_elsewhere(
        "UPDATE merchants SET is_active = false WHERE id = %s", api_key.api_key.merchant_id
    )
    until_api_key_cache_notified(generation)

    with pytest.raises(AuthenticationFailed):
        api_key_authenticate(secret=api_key.secret)


def test_a_revocation_in_this_process_applies_at_once(api_key, api_key_cache_ready):
    api_key_authenticate(secret=api_key.secret)

    api_key_revoke(api_key=api_key.api_key)

    with pytest.raises(AuthenticationFailed):
        api_key_authenticate(secret=api_key.secret)


def test_an_expiry_is_checked_on_every_request(api_key, api_key_cache_ready):
    generation = api_key_cache_generation()
    ApiKey.objects.filter(pk=api_key.api_key.pk).update(
        expires_at=timezone.now() + dt.timedelta(seconds=1), last_used_at=timezone.now()
    )
    until_api_key_cache_notified(generation)
    api_key_authenticate(secret=api_key.secret)  # cached, with its expiry

    time.sleep(1.1)

    with (
        CaptureQueriesContext(connection) as captured,
        pytest.raises(AuthenticationFailed, match="expired"),
    ):
        api_key_authenticate(secret=api_key.secret)
    assert _key_reads(captured) == 0  # the cached row's expiry refused it


def test_a_lookup_that_raced_a_change_is_not_kept(api_key_cache_ready):
    loads = []

    def load(key_hash):
        loads.append(key_hash)
        api_key_cache_clear()  # a notification arrives while the row is being read
        return ("row",)

    assert api_key_row("raced", load) == ("row",)
    assert api_key_row("raced", load) == ("row",)
    assert loads == ["raced", "raced"]


def test_unknown_keys_are_not_cached(api_key_cache_ready):
    loads = []

    def load(key_hash):
        loads.append(key_hash)
        return None

    api_key_row("unknown", load)
    api_key_row("unknown", load)

    assert loads == ["unknown", "unknown"]


def test_while_its_listener_is_not_connected_the_cache_answers_nothing(
    api_key, api_key_cache_ready, monkeypatch
):
    monkeypatch.setattr(_cache, "listening", False)  # as between a lost connection and the next

    with CaptureQueriesContext(connection) as captured:
        api_key_authenticate(secret=api_key.secret)
        api_key_authenticate(secret=api_key.secret)

    assert _key_reads(captured) == 2
    assert not _cache.rows


def test_a_stopped_listener_starts_again_on_the_next_lookup(api_key, api_key_cache_ready):
    api_key_cache_stop()
    assert not api_key_cache_listening()

    api_key_authenticate(secret=api_key.secret)

    assert api_key_cache_listening(timeout=10)


def test_turned_off_every_lookup_reads_the_database(api_key, settings, api_key_cache_ready):
    settings.API_KEY_CACHE_SECONDS = 0

    with CaptureQueriesContext(connection) as captured:
        api_key_authenticate(secret=api_key.secret)
        api_key_authenticate(secret=api_key.secret)

    assert _key_reads(captured) == 2
