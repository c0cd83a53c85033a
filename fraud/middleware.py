"""Refuse blocked IPs before anything else runs: no authentication, no session, no body."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse

from audit.middleware import client_ip
from config.middleware import API_PREFIX
from fraud.ip_blocks import ip_is_blocked

# The surfaces people and scripts authenticate against. Health checks stay open: a load
# balancer probing from a blocked address must not take the service out of rotation.
GUARDED_PREFIXES = (API_PREFIX, "/admin/")
BLOCKED_MESSAGE = "Requests from your IP address are blocked."


class IpBlockMiddleware:
    """403 for a blocked IP on the API (the API's error envelope, written here because fraud
    does not import payments) and on the back office (a plain page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(GUARDED_PREFIXES) and ip_is_blocked(client_ip(request)):
            return _refusal(api=path.startswith(API_PREFIX))
        return self.get_response(request)


def _refusal(*, api: bool) -> HttpResponse:
    if api:
        return JsonResponse(
            {
                "error": {
                    "type": "permission_error",
                    "code": "ip_blocked",
                    "message": BLOCKED_MESSAGE,
                    "param": None,
                }
            },
            status=403,
        )
    return HttpResponseForbidden(
        f"<!doctype html><title>403 Forbidden</title><h1>403 Forbidden</h1><p>{BLOCKED_MESSAGE}</p>"
    )
