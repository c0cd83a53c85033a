import pytest

from fraud.models import FraudRule, RuleKind


@pytest.fixture
def brute_force_rule(db) -> FraudRule:
    """The runbook's rule as every database test starts with it (tests/conftest.py)."""
    return FraudRule.objects.get(kind=RuleKind.BRUTE_FORCE)
