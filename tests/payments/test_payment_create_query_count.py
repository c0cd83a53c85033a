"""The number of SQL statements one payment costs is pinned: it is the hot path's budget
(see DESIGN.md's performance notes), so a change that adds a query must change this test."""

import pytest

from tests.conftest import (
    PAYMENTS_URL,
    api_key_used_now,
    client_for,
    create_payment,
    payment_body,
)

# Measured, then pinned: the fraud engine's history (one statement of bounded subqueries);
# card + PROCESSING payment + audit row + fraud check + observation (one statement); the
# sandbox's own record; status + ledger row + audit row + outbox event (one). The API key
# comes from this process's cache (payments.services.api_key_cache).
QUERIES_PER_CARD_PAYMENT = 4
# When the cache cannot answer (the key's first request, or the cache off): its lookup.
QUERIES_PER_CARD_PAYMENT_KEY_NOT_CACHED = QUERIES_PER_CARD_PAYMENT + 1
# The key is claimed by the statement that creates the payment and its answer stored by the
# one that settles it: no statement of its own.
QUERIES_PER_CARD_PAYMENT_WITH_IDEMPOTENCY_KEY = QUERIES_PER_CARD_PAYMENT


@pytest.fixture
def warm_client(api_key, api_key_cache_ready):
    # A key records its last use at most once a minute: use it now, before the count.
    api_key_used_now(api_key)
    client = client_for(api_key.secret)
    assert create_payment(client).status_code == 201  # reads the key into the cache
    return client


@pytest.mark.django_db(transaction=True)  # real transactions: no test savepoints in the count
def test_card_payment_costs_a_fixed_number_of_queries(warm_client, django_assert_num_queries):
    with django_assert_num_queries(QUERIES_PER_CARD_PAYMENT):
        response = create_payment(warm_client)

    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_card_payment_with_idempotency_key_costs_a_fixed_number_of_queries(
    warm_client, django_assert_num_queries
):
    with django_assert_num_queries(QUERIES_PER_CARD_PAYMENT_WITH_IDEMPOTENCY_KEY):
        response = warm_client.post(
            PAYMENTS_URL, payment_body(), format="json", HTTP_IDEMPOTENCY_KEY="count-1"
        )

    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_without_the_key_cache_a_payment_reads_its_key_too(
    warm_client, settings, django_assert_num_queries
):
    settings.API_KEY_CACHE_SECONDS = 0

    with django_assert_num_queries(QUERIES_PER_CARD_PAYMENT_KEY_NOT_CACHED):
        response = create_payment(warm_client)

    assert response.status_code == 201
