"""The back office's middleware runs for pages and is skipped by merchant API requests."""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import (
    PageAuthenticationMiddleware,
    PageMessageMiddleware,
    PageOTPMiddleware,
    PageSessionMiddleware,
)

PAGE_MIDDLEWARE = [
    PageSessionMiddleware,
    PageAuthenticationMiddleware,
    PageOTPMiddleware,
    PageMessageMiddleware,
]


def _seen_by_the_view(path):
    """The attributes the middleware chain left on the request the view gets."""
    seen = {}

    def view(request):
        seen.update(
            session=hasattr(request, "session"),
            user=hasattr(request, "user"),
            messages=hasattr(request, "_messages"),
        )
        return HttpResponse("ok")

    handler = view
    for middleware in reversed(PAGE_MIDDLEWARE):
        handler = middleware(handler)
    response = handler(RequestFactory().get(path))
    return response, seen


@pytest.mark.django_db
def test_pages_get_session_user_and_messages():
    response, seen = _seen_by_the_view("/admin/")

    assert response.status_code == 200
    assert seen == {"session": True, "user": True, "messages": True}


def test_api_requests_pass_straight_through():
    response, seen = _seen_by_the_view("/api/v1/payments")

    assert response.status_code == 200
    assert seen == {"session": False, "user": False, "messages": False}


def test_page_middleware_keeps_its_place_in_the_settings():
    names = [path.rsplit(".", 1)[1] for path in settings.MIDDLEWARE]

    assert names.index("IpBlockMiddleware") < names.index("PageSessionMiddleware")
    assert (
        names.index("PageSessionMiddleware")
        < names.index("PageAuthenticationMiddleware")
        < names.index("PageOTPMiddleware")
        < names.index("OperatorActorMiddleware")
        < names.index("PageMessageMiddleware")
    )


def test_api_answers_set_no_session_cookie(api_client):
    response = api_client.get("/api/v1/payments?limit=1")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")
