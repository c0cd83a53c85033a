import contextlib
import io
import json
import re
from typing import Any

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from payments.errors import ErrorCode, InvalidRequest

# orjson reads an integer beyond 64 bits as a float; json.load keeps it an int.
_LONG_DIGITS = re.compile(rb"\d{19}")
# A JSON string, escapes included: what is left once they are gone is structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, with two differences:
    - pathologically nested JSON is a 400: the json module raises RecursionError (not
      ValueError) past ~1000 levels, which DRF would turn into a 500;
    - a UTF-8 body is parsed by orjson: a payment request's body took 18 µs through a codecs
      reader and json.load, 7 µs this way. Whatever orjson refuses (NaN, lone surrogates, invalid
      UTF-8, deep nesting…) or would read otherwise (a run of 19 digits or more: a number
      beyond 64 bits) goes through DRF's json.load instead, so what is accepted, what it
      becomes, and every error message stay DRF's.
    And one on purpose: an object with the same key twice is a 400. JSON parsers disagree on
    which one wins (here the last), so `{"amount": 100000, …, "amount": 1}` could mean one
    amount to a merchant's proxy or firewall and another to us."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        body = stream.read()
        if utf8 and _LONG_DIGITS.search(body) is None:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                pass
            else:
                _refuse_duplicate_keys(body, data)
                return data
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
        _refuse_duplicate_keys(body if utf8 else body.decode(encoding).encode(), data)
        return data


def _member_count(value: dict | list) -> int:
    """Members of every object in `value`, its own included; no recursion (orjson takes
    nesting deeper than Python's recursion limit)."""
    members, pending = 0, [value]
    while pending:
        container = pending.pop()
        if type(container) is dict:
            members += len(container)
            items = container.values()
        else:
            items = container
        pending.extend(item for item in items if type(item) is dict or type(item) is list)
    return members


def _refuse_duplicate_keys(body: bytes, data: Any) -> None:
    """Every object member has one colon outside strings: fewer members parsed than colons
    means a key came twice. Most bodies have no colon inside a string, and then the count
    of all their colons settles it; naming the key (json again, with a hook) only happens
    when one came twice."""
    if type(data) is not dict and type(data) is not list:
        return
    members = _member_count(data)
    if body.count(b":") == members or _STRING.sub(b"", body).count(b":") == members:
        return
    repeated: list[str] = []

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in members]
        repeated.extend(name for name in names if names.count(name) > 1)
        return dict(members)

    with contextlib.suppress(ValueError, RecursionError):  # naming is best effort
        json.loads(body, object_pairs_hook=pairs)
    # Named only when it looks like a field name: the message must not echo arbitrary input.
    name = next((name for name in repeated if _FIELD_NAME.fullmatch(name)), None)
    raise InvalidRequest(
        f"The request body has the key '{name}' more than once."
        if name
        else "The request body has a key more than once.",
        code=ErrorCode.PARAMETER_DUPLICATED,
        param=name,
    )
