"""Who is acting, and from where: set once per request, CLI command or task, read by `audit`.

A context variable rather than a thread-local, so threads and async code each see their own.
"""

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    actor_id: str = "system"
    actor_type: str = "system"  # user | api_key | cli | system
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "paydesk_request_context",
    default=RequestContext(),  # noqa: B039 (frozen, immutable)
)


def current_context() -> RequestContext:
    return _current.get()


def set_context(context: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(context)


def reset_context(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)


def set_actor(*, actor_id: str, actor_type: str) -> None:
    """Name the authenticated actor for the rest of the current request."""
    _current.set(replace(_current.get(), actor_id=actor_id, actor_type=actor_type))


@contextmanager
def acting_as(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def cli_context() -> RequestContext:
    """The context of an operator running a management command or runbook script."""
    return RequestContext(actor_id=f"cli:{getpass.getuser()}", actor_type="cli")
