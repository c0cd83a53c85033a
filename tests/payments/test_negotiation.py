"""The API's content negotiation answers as DRF's does, with the common cases short-cut."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from payments.api.negotiation import JsonFirstNegotiation


def _choice(negotiation, accept, path="/api/v1/payments", renderers=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(path, **headers))
    renderers = renderers or [JSONRenderer()]
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/*",
        "application/json; indent=4",
        "text/html",
        "text/html, application/json;q=0.9",
        "application/xml",
    ],
)
def test_the_same_renderer_and_media_type_as_drf(accept):
    assert _choice(JsonFirstNegotiation, accept) == _choice(DefaultContentNegotiation, accept)


def test_format_override_and_other_renderer_lists_go_through_drf():
    browsable = [BrowsableAPIRenderer(), JSONRenderer()]

    for accept in (None, "*/*", "text/html"):
        assert _choice(JsonFirstNegotiation, accept, renderers=browsable) == _choice(
            DefaultContentNegotiation, accept, renderers=browsable
        )
    for negotiation in (JsonFirstNegotiation, DefaultContentNegotiation):
        with pytest.raises(Http404):  # DRF's answer to an unknown ?format=
            _choice(negotiation, None, path="/api/v1/payments?format=xml")


@pytest.mark.django_db
def test_an_api_request_accepting_only_html_is_refused(api_client):
    response = api_client.get("/api/v1/payments?limit=1", HTTP_ACCEPT="text/html")

    assert response.status_code == 406


def _parser(negotiation, content_type):
    request = Request(
        APIRequestFactory().post("/api/v1/payments", b"{}", content_type=content_type)
    )
    parsers = [JSONParser(), FormParser(), MultiPartParser()]
    parser = negotiation().select_parser(request, parsers)
    return type(parser).__name__ if parser else None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/jsonx",
    ],
)
def test_the_same_parser_as_drf(content_type):
    assert _parser(JsonFirstNegotiation, content_type) == _parser(
        DefaultContentNegotiation, content_type
    )
