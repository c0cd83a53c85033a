"""The API's JSON parser accepts and refuses exactly what DRF's does, with the same messages."""

import io

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from payments.api.parsers import BoundedJSONParser
from payments.errors import InvalidRequest


def _parsed(parser, body: bytes, encoding: str = "utf-8"):
    try:
        return "ok", parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding})
    except ParseError as exc:
        return "error", str(exc.detail)


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": 1999, "currency": "usd", "metadata": {"a": "b"}}',
        b'{"amount": 99999999999999999999999999, "currency": "usd"}',  # beyond 64 bits
        b'{"amount": 9223372036854775807, "b": -9223372036854775808, "c": 18446744073709551615}',
        b'{"amount": 1.0000000000000000000001, "b": 123456789012345678901234.5}',
        b'{"note": "12345678901234567890 in a string"}',
        b'{"amount": -5, "x": 1.5e3, "y": 1e400, "z": [true, false, null]}',
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b'{"name": "caf\xc3\xa9 \\u00e9 \\ud83d\\ude00"}',
        b'{"name": "lone \\ud800 surrogate"}',
        b'{"name": "bad utf-8 \xff"}',
        b"\xef\xbb\xbf{}",  # a byte order mark
        b'{"amount": 1999,}',
        b"",
        b"[1, 2, 3]",
        b'"just a string"',
        b"[" * 2000 + b"]" * 2000,
    ],
)
def test_the_same_result_or_error_as_drf(body):
    if body.startswith(b"[" * 2000):
        expected = ("error", "JSON parse error - nested too deeply")  # DRF: a 500
    else:
        expected = _parsed(JSONParser(), body)

    assert _parsed(BoundedJSONParser(), body) == expected


def test_another_charset_goes_through_drf():
    body = '{"name": "café"}'.encode("latin-1")

    assert _parsed(BoundedJSONParser(), body, "latin-1") == ("ok", {"name": "café"})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"amount": 100000, "currency": "usd", "amount": 1}', "amount"),
        (b'{"card": {"number": "4242", "cvc": "1", "number": "5555"}}', "number"),
        (b'{"items": [{"a": 1}, {"b": 2, "b": 3}]}', "b"),
        (b'{"x": "with \\" and : inside", "x": 2}', "x"),
        (b'{"a": 12345678901234567890, "a": 1}', "a"),  # through DRF's json.load
        (b'{"4242424242424242": 1, "4242424242424242": 2}', None),  # not echoed
    ],
)
def test_a_key_given_twice_is_refused_and_named(body, param):
    with pytest.raises(InvalidRequest) as refused:
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", {"encoding": "utf-8"})

    assert (refused.value.code, refused.value.param) == ("parameter_duplicated", param)
    assert "4242424242424242" not in refused.value.message


@pytest.mark.parametrize(
    "body",
    [
        b'{"description": "at 12:30", "metadata": {"a:b": "c:d", "t": "\\":"}}',
        b'{"a": [{"a": 1}, {"a": 2}], "b": {"a": {"a": 3}}}',  # one key per object
        b'[{"a": 1}, {"a": 1}]',
        b"{}",
    ],
)
def test_colons_in_strings_and_the_same_key_in_other_objects_are_fine(body):
    assert _parsed(BoundedJSONParser(), body) == _parsed(JSONParser(), body)


def test_a_key_given_twice_in_another_charset_is_refused():
    body = '{"name": "café", "name": "x"}'.encode("latin-1")

    with pytest.raises(InvalidRequest):
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", {"encoding": "latin-1"})


@pytest.mark.parametrize("depth", [990, 1020])
def test_deep_nesting_orjson_takes_is_counted_without_recursion(depth):
    """orjson takes nesting deeper than Python's recursion limit: the duplicate check must
    not be what turns such a body into a 500."""
    fine = b'{"a":' * depth + b'{"b": "x:y"}' + b"}" * depth
    twice = b'{"a":' * depth + b'{"b": "x:y", "b": 2}' + b"}" * depth

    assert _parsed(BoundedJSONParser(), fine)[0] == "ok"
    with pytest.raises(InvalidRequest):
        BoundedJSONParser().parse(io.BytesIO(twice), "application/json", {"encoding": "utf-8"})
