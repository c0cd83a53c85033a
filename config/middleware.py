"""The back office's middleware, skipped by merchant API requests.

An API request is authenticated by its API key on every call: it has no session, no signed-in
user, no second factor and no flash messages. These subclasses run Django's (and
django-otp's) middleware for every other path and pass API requests straight through, which
saves ~4 % of the CPU of `POST /api/v1/payments` (docs/performance.md). They stay in
`MIDDLEWARE`, in their usual places, so Django's own checks and ordering still apply.
"""

from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django_otp.middleware import OTPMiddleware

API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    """Whether `request` is for the merchant API (an API key on every call, no session)."""
    return request.path_info.startswith(API_PREFIX)


class _PagesOnly:
    get_response: Callable[[HttpRequest], HttpResponseBase]

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class PageSessionMiddleware(_PagesOnly, SessionMiddleware):
    pass


class PageAuthenticationMiddleware(_PagesOnly, AuthenticationMiddleware):
    pass


class PageOTPMiddleware(_PagesOnly, OTPMiddleware):
    pass


class PageMessageMiddleware(_PagesOnly, MessageMiddleware):
    pass
