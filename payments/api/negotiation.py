"""Content negotiation with the common case answered before any parsing."""

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# Accept headers that DRF's negotiation answers with the first renderer's own media type.
_ANY = frozenset({"*/*", "application/json", "application/*"})


class JsonFirstNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that the common cases are answered without parsing media
    types (the same answers; each cost ~1 % of a payment's CPU):
    - a request which accepts anything (or JSON), without a `?format=`, gets the JSON
      renderer without its Accept header being parsed;
    - a body whose Content-Type is exactly a parser's media type gets that parser.
    Anything else goes through DRF's rules (a 406 for an Accept nothing matches, a 415 for
    a body no parser takes)."""

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser | None:
        for parser in parsers:
            if parser.media_type == request.content_type:
                return parser
        return super().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        first = renderers[0] if renderers else None
        if (
            first is not None
            and first.media_type == "application/json"
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", "*/*") in _ANY
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
