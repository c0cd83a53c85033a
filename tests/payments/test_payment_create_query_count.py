"""The number of SQL statements one payment costs is pinned: it is the hot path's budget
(see DESIGN.md's performance notes), so a change that adds a query must change this test."""

import pytest

from tests.conftest import PAYMENTS_URL, client_for, create_payment, payment_body

# Measured, then pinned: API key lookup; the fraud engine's history (one statement of bounded
# subqueries); card + PROCESSING payment + audit row + fraud check + observation (one
# statement); the sandbox's own record; status + ledger row + audit row + outbox event (one).
QUERIES_PER_CARD_PAYMENT = 5
# The key is claimed by the statement that creates the payment and its answer stored by the
# one that settles it: no statement of its own.
QUERIES_PER_CARD_PAYMENT_WITH_IDEMPOTENCY_KEY = QUERIES_PER_CARD_PAYMENT


@pytest.fixture
def warm_client(api_key):
    client = client_for(api_key.secret)
    # The first request of a key also records last_used_at (at most once a minute).
    assert create_payment(client).status_code == 201
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
