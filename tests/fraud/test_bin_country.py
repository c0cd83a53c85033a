"""BIN-country blocklists: issuer countries come from the operator's BIN data."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config.logging import luhn_valid
from fraud.models import BinRange, BlocklistEntry, BlocklistKind
from fraud.rules import RuleSpec
from fraud.services import fraud_rules_apply
from tests.conftest import create_payment


def card_with_bin(bin_prefix: str) -> str:
    body = bin_prefix + "0" * (15 - len(bin_prefix))
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


def load(path) -> str:
    out = io.StringIO()
    call_command("load_bin_ranges", str(path), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_card_from_a_blocklisted_issuer_country_is_blocked(api_client, tmp_path):
    ranges = tmp_path / "bins.csv"
    ranges.write_text("prefix,country\n4571,DK\n457173,gb\n")
    assert "Loaded 2" in load(ranges)
    fraud_rules_apply([RuleSpec("countries", "blocklist", {"kinds": ["bin_country"]}, "block")])
    BlocklistEntry.objects.create(kind=BlocklistKind.BIN_COUNTRY, value="GB")

    british = create_payment(api_client, card_with_bin("457173"))  # longest prefix: GB
    danish = create_payment(api_client, card_with_bin("457100"))  # only 4571: DK
    unknown = create_payment(api_client, card_with_bin("510510"))

    assert british.status_code == 402
    assert british.json()["error"]["code"] == "fraud_blocked"
    assert danish.status_code == unknown.status_code == 201


@pytest.mark.django_db
def test_a_bad_bin_file_loads_nothing_and_says_which_line(tmp_path):
    ranges = tmp_path / "bins.csv"
    ranges.write_text("457173,GB\n45,FR\n510510,France\n")

    with pytest.raises(CommandError) as error:
        load(ranges)

    assert "line 2: prefix '45'" in str(error.value)
    assert "line 3: country 'FRANCE'" in str(error.value)
    assert not BinRange.objects.exists()
