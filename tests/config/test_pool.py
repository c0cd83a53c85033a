import pytest
from django.db import connection
from django.db.backends.postgresql import base

from config.db.pool import LastInFirstOutPool

pytestmark = pytest.mark.django_db


def test_django_uses_the_runbook_pool_handing_out_the_newest_connection_first():
    pool = connection.pool
    assert isinstance(pool, LastInFirstOutPool)
    assert (pool.min_size, pool.max_size, pool.timeout) == (10, 30, 20.0)


@pytest.fixture
def small_pool():
    pool = LastInFirstOutPool(
        kwargs=connection.get_connection_params() | {"autocommit": True},
        min_size=3,
        max_size=3,
        open=False,
    )
    pool.open(wait=True, timeout=20)
    yield pool
    pool.close()


def _backend(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_the_most_recently_returned_connection_is_handed_out_first(small_pool):
    first, second, third = (small_pool.getconn() for _ in range(3))
    pids = [_backend(conn) for conn in (first, second, third)]
    for conn in (first, second, third):
        small_pool.putconn(conn)

    again = small_pool.getconn()
    assert _backend(again) == pids[2]
    small_pool.putconn(again)
    assert _backend(small_pool.getconn()) == pids[2]  # the same one, as long as it suffices
    assert _backend(small_pool.getconn()) == pids[1]
    assert _backend(small_pool.getconn()) == pids[0]


def test_a_pool_that_shrinks_closes_the_least_recently_used_connection(small_pool):
    connections = [small_pool.getconn() for _ in range(3)]
    pids = [_backend(conn) for conn in connections]
    for conn in connections:
        small_pool.putconn(conn)
    # psycopg_pool's shrinking closes the connection at the head of its queue.
    assert _backend(small_pool._pool[0]) == pids[0]


def test_connection_params_are_djangos_and_each_caller_gets_its_own_copy():
    connection.ensure_connection()  # the pool exists

    params = connection.get_connection_params()

    assert params == base.DatabaseWrapper.get_connection_params(connection)
    params["dbname"] = "elsewhere"
    assert connection.get_connection_params()["dbname"] != "elsewhere"
