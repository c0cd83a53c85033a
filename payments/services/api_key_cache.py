"""Recently authenticated API keys, per process, never staler than the database's commits.

Every API request authenticates its key: a round trip and ~8 % of a payment's Python
instructions (docs/performance.md). This cache keeps a key's database row (the key's and its
merchant's columns, as `_api_key_by_hash` reads them) by key hash, for API_KEY_CACHE_SECONDS
at most. It answers only while this process LISTENs on CHANNEL, where triggers on `api_keys`
and `merchants` notify every committed change (migration 0019): a notification empties it, so
a revocation, an expiry change or a deactivated merchant applies to the next request of every
process. Without the listener (starting, or its connection lost) every lookup goes to the
database, as without the cache. Expiry by time is checked on every request, cached or not.

A lookup that raced a notification is not stored (generation count). Behind a
transaction-pooling PgBouncer LISTEN does not work: set API_KEY_CACHE_SECONDS=0 there.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

logger = logging.getLogger("payments.ApiKeyCache")

CHANNEL = "paydesk_api_keys"
# How often the listener checks its connection (and a stop request) while nothing arrives.
_HEALTH_CHECK_SECONDS = 1.0

Row = tuple[Any, ...]


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.RLock()  # clear() runs under it inside _start_listener too
        self.rows: dict[str, tuple[Row, float]] = {}
        self.generation = 0
        self.listening = False
        self.pid: int | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.rows.clear()


_cache = _Cache()


def api_key_row(key_hash: str, load: Callable[[str], Row | None]) -> Row | None:
    """The row of the key hashed `key_hash`: from the cache when it can answer, else from
    `load` (None: no such key; not cached, so a new key works at once)."""
    ttl = settings.API_KEY_CACHE_SECONDS
    if ttl <= 0:
        return load(key_hash)
    if _cache.pid != os.getpid():
        _start_listener()
    now = time.monotonic()
    entry = _cache.rows.get(key_hash)
    if entry is not None and entry[1] > now and _cache.listening:
        return entry[0]
    generation = _cache.generation
    row = load(key_hash)
    if row is not None and _cache.listening:
        with _cache.lock:
            if generation == _cache.generation:
                _cache.rows[key_hash] = (row, now + ttl)
    return row


def api_key_cache_clear() -> None:
    """Forget every cached key in this process (the others hear it from the triggers)."""
    _cache.clear()


def api_key_cache_generation() -> int:
    """Counts the times the cache was emptied (for tests waiting on a notification)."""
    return _cache.generation


def api_key_cache_listening(timeout: float = 0.0) -> bool:
    """Whether the cache answers; waits up to `timeout` seconds for the listener."""
    deadline = time.monotonic() + timeout
    while not _cache.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    return _cache.listening


def api_key_cache_stop() -> None:
    """Stop this process's listener (its connection closes) and forget every key."""
    thread = _cache.thread
    _cache.stop.set()
    if thread is not None and thread.is_alive():
        thread.join(timeout=_HEALTH_CHECK_SECONDS + 2)
    _cache.listening = False
    _cache.pid = None
    _cache.thread = None
    _cache.clear()


def _start_listener() -> None:
    with _cache.lock:
        if _cache.pid == os.getpid():
            return
        # A new process (or the first use): whatever a parent cached is not ours to trust.
        _cache.clear()
        _cache.listening = False
        _cache.pid = os.getpid()
        _cache.stop = threading.Event()
        params = connections["default"].get_connection_params() | {"autocommit": True}
        _cache.thread = threading.Thread(
            target=_listen, args=(params, _cache.stop), name="api-key-cache", daemon=True
        )
        _cache.thread.start()


def _listen(params: dict[str, Any], stop: threading.Event) -> None:
    delay = 0.5
    while not stop.is_set():
        try:
            with psycopg.connect(**params) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                _cache.clear()  # whatever changed while nobody listened
                _cache.listening = True
                delay = 0.5
                while not stop.is_set():
                    for _ in conn.notifies(timeout=_HEALTH_CHECK_SECONDS, stop_after=1):
                        _cache.clear()
                    conn.execute("SELECT 1")  # a silent connection may be a dead one
        except psycopg.Error as exc:
            logger.warning("API key cache off (%s); retrying in %.1f s", exc, delay)
        finally:
            _cache.listening = False
            _cache.clear()
        stop.wait(delay)
        delay = min(delay * 2, 30.0)
