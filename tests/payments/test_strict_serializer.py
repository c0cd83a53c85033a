"""StrictSerializer validates only what can matter: given fields, required ones, and
optional ones with a default."""

import pytest
from rest_framework import serializers

from payments.api.fields import StrictIntegerField, StrictSerializer


class _Inner(StrictSerializer):
    size = StrictIntegerField()
    colour = serializers.CharField(required=False)


class _Outer(StrictSerializer):
    amount = StrictIntegerField()
    note = serializers.CharField(required=False)
    mode = serializers.ChoiceField(choices=["a", "b"], required=False, default="a")
    inner = _Inner(required=False)


def _validate(data):
    serializer = _Outer(data=data)
    serializer.is_valid()
    return serializer


def test_absent_optional_fields_are_left_out_and_defaults_applied():
    serializer = _validate({"amount": 5})

    assert serializer.errors == {}
    assert serializer.validated_data == {"amount": 5, "mode": "a"}


def test_given_optional_fields_are_validated():
    serializer = _validate({"amount": 5, "note": "hi", "mode": "c", "inner": {"size": "x"}})

    assert set(serializer.errors) == {"mode", "inner"}
    assert serializer.errors["inner"]["size"][0].code == "invalid"


@pytest.mark.parametrize(
    ("data", "missing"),
    [({}, "amount"), ({"amount": 1, "inner": {"colour": "red"}}, "size")],
)
def test_a_missing_required_field_is_still_refused(data, missing):
    errors = _validate(data).errors

    flat = errors.get("inner", errors)
    assert flat[missing][0].code == "required"


def test_unknown_fields_are_still_refused():
    assert _validate({"amount": 1, "colour": "red"}).errors["colour"][0].code == (
        "parameter_unknown"
    )


def _needs_source(attrs):
    if attrs.get("source") != "api":
        raise serializers.ValidationError("no source")


class _WithValidator(StrictSerializer):
    """A read-only field with a default, which DRF hands to the serializer's validators."""

    amount = StrictIntegerField()
    source = serializers.CharField(read_only=True, default="api")

    class Meta:
        validators = [_needs_source]


def test_read_only_defaults_still_reach_the_validators():
    serializer = _WithValidator(data={"amount": 1})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"amount": 1}


def test_each_request_validates_afresh_with_the_reused_fields():
    assert _validate({"amount": 1, "note": "x"}).validated_data == {
        "amount": 1,
        "note": "x",
        "mode": "a",
    }
    assert _validate({"amount": 2}).validated_data == {"amount": 2, "mode": "a"}
    assert _validate({"amount": 3, "zzz": 1}).errors["zzz"][0].code == "parameter_unknown"
