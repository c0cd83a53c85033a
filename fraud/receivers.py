"""Back-office login failures count towards the brute-force rule. Thin on purpose (no logic in
signals): record the security event, then hand over to the threat-detection service."""

from dataclasses import replace
from typing import Any

from django.http import HttpRequest

from audit.context import current_context
from audit.middleware import client_ip
from audit.services import security_event_record
from fraud.ip_blocks import LOGIN_FAILED_EVENT, brute_force_check


def login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """`user_login_failed` receiver. Django has already masked the password in
    `credentials`; only the username tried is kept."""
    context = current_context()
    if request is not None:
        context = replace(
            context,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )
    event = security_event_record(
        event_type=LOGIN_FAILED_EVENT,
        details={"username": str(credentials.get("username", ""))[:150]},
        context=context,
    )
    brute_force_check(ip_address=event.ip_address)


def account_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str = "", **kwargs: Any
) -> None:
    """django-axes' `user_locked_out` receiver: the lockout itself is a security event."""
    security_event_record(
        event_type="auth.locked_out",
        details={"username": str(username or "")[:150]},
        context=replace(current_context(), ip_address=client_ip(request))
        if request is not None
        else None,
    )


def signed_in(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    """`user_logged_in` receiver: every back-office sign-in is a security event."""
    security_event_record(
        event_type="auth.login_succeeded",
        details={"username": user.get_username() if user is not None else ""},
        context=replace(current_context(), ip_address=client_ip(request))
        if request is not None
        else None,
    )


def groups_changed(
    sender: Any, instance: Any, action: str, pk_set: set[int] | None = None, **kwargs: Any
) -> None:
    """`m2m_changed` on User.groups: a role given or taken is a security event, however it
    was done (command, admin, shell)."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    security_event_record(
        event_type="operator.role_changed",
        details={
            "username": instance.get_username(),
            "change": action.removeprefix("post_"),
            "roles": sorted(instance.groups.values_list("name", flat=True)),
        },
    )
