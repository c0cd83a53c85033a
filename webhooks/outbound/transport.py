"""One webhook POST, to the address the SSRF guard checked.

urllib3 connects to `Destination.address` while the Host header, TLS SNI and certificate
check use the URL's host name: the name is never resolved again, so DNS rebinding cannot
swap the address after the check. Redirects are never followed (a 3xx is a failed attempt)
and nothing is retried here: the delivery schedule does that.
"""

import ssl
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from webhooks.models import WebhookAttemptError
from webhooks.outbound.destinations import Destination

RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class HttpResult:
    latency_ms: int
    status: int | None = None
    body_excerpt: str = ""
    retry_after: str | None = None
    error_kind: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def tls_context() -> ssl.SSLContext:
    """The trust store endpoints' certificates are checked against: the system's."""
    return ssl.create_default_context()


def post(
    destination: Destination, *, body: bytes, headers: dict[str, str], timeout: float
) -> HttpResult:
    if destination.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            destination.address,
            destination.port,
            ssl_context=tls_context(),
            server_hostname=destination.host,
            assert_hostname=destination.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(destination.address, destination.port)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            destination.target,
            body=body,
            headers={**headers, "Host": destination.host_header},
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            excerpt = response.read(RESPONSE_EXCERPT_BYTES)
        except (HTTPError, OSError):
            excerpt = b""  # the status line is the endpoint's answer; a broken body is not
        return HttpResult(
            latency_ms=_elapsed_ms(started),
            status=response.status,
            body_excerpt=excerpt.decode("utf-8", errors="replace"),
            retry_after=response.headers.get("Retry-After"),
            error_kind="" if 200 <= response.status < 300 else WebhookAttemptError.HTTP_STATUS,
            error="" if 200 <= response.status < 300 else f"answered {response.status}",
        )
    except (HTTPError, OSError) as exc:
        kind, message = _failure(exc, timeout)
        return HttpResult(latency_ms=_elapsed_ms(started), error_kind=kind, error=message[:500])
    finally:
        pool.close()


def _failure(exc: Exception, timeout: float) -> tuple[str, str]:
    # NewConnectionError subclasses urllib3's TimeoutError: test it first.
    if isinstance(exc, NewConnectionError):
        return WebhookAttemptError.CONNECTION, str(exc).split(": ", 1)[-1]
    if isinstance(exc, Urllib3Timeout):
        return WebhookAttemptError.TIMEOUT, f"no answer within {timeout:g} s"
    if isinstance(exc, SSLError):
        return WebhookAttemptError.TLS, str(exc)
    return WebhookAttemptError.CONNECTION, str(exc) or type(exc).__name__


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
