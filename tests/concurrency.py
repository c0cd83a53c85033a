"""Run the same request from many threads at once, each with its own DB connection."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_concurrently(count: int, work: Callable[[], Any]) -> list[Any]:
    """Start `count` threads that call `work` together (behind a barrier); return their
    results. Each thread closes its database connection when it is done; an exception in
    any thread is re-raised here."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work()
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request thread hung"
    if errors:
        raise errors[0]
    return results
