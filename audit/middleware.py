import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import RequestContext, reset_context, set_actor, set_context
from config.middleware import is_api_request


def client_ip(request: HttpRequest) -> str | None:
    """The caller's IP: REMOTE_ADDR, or the address our trusted proxies saw (never a header
    the client alone controls)."""
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(addresses) >= hops:
            return addresses[-hops]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Records the caller's IP, user agent and a request id for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
        token = set_context(
            RequestContext(
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                request_id=request_id,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            reset_context(token)
        response["X-Request-Id"] = request_id
        return response


class OperatorActorMiddleware:
    """Names the signed-in back-office user as the actor of the request (after Django's
    AuthenticationMiddleware), so admin actions are audited as `user:<id>`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_request(request):  # API requests name their API key instead
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                set_actor(actor_id=f"user:{user.pk}", actor_type="user")
        return self.get_response(request)
