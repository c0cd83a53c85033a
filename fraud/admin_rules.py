"""The forms behind the back-office rule screens (`fraud.admin`): edit with validation, the
period of a dry run. The writes are `fraud.services` functions, versioned and audited exactly
like a rules file (the operator is the actor, see `audit.middleware.OperatorActorMiddleware`)."""

from typing import Any

from django import forms

from fraud.dry_run import DEFAULT_DAYS, MAX_DAYS
from fraud.models import FraudRule, RuleAction, RuleKind
from fraud.rules import RuleError, RuleSpec, parse_action, parse_condition, validate_parameters

CHANGE_PERMISSION = "fraud.change_fraudrule"


def duration_text(seconds: int) -> str:
    """3600 → '1h': the rules file's duration for a number of seconds."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def action_text(rule: FraudRule) -> str:
    """The action as a rules file writes it (`block_ip_for_1h`)."""
    if rule.action == RuleAction.BLOCK_IP and "block_seconds" in rule.parameters:
        return f"block_ip_for_{duration_text(rule.parameters['block_seconds'])}"
    return rule.action


class OptionalJSONField(forms.JSONField):
    """An empty box for no value, rather than the text `null`."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class DryRunForm(forms.Form):
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        widget=forms.NumberInput(attrs={"style": "width: 5em"}),
        help_text=f"Replay the payments of the last 1 to {MAX_DAYS} days.",
    )


class RuleEditForm(forms.Form):
    """A rule as a rules file writes it: a condition (or kind + parameters), an action, a
    priority, enabled. Validated by `fraud.rules` field by field."""

    condition = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="As in a rules file, e.g. <code>transaction_count &gt; 10 within 1h from "
        "same_card</code> or <code>amount &gt; 500000 USD</code> (minor units). Leave empty to "
        "give kind and parameters instead.",
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "— from the condition —"), *RuleKind.choices],
        help_text="Only without a condition.",
    )
    parameters = OptionalJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text='Only without a condition, as JSON, e.g. <code>{"thresholds": {"USD": '
        "500000}}</code>.",
    )
    action = forms.CharField(
        max_length=60,
        help_text="allow, flag_for_review, require_additional_verification, block; "
        "block_ip_for_&lt;duration&gt; (e.g. block_ip_for_1h) for brute_force rules.",
    )
    priority = forms.IntegerField(min_value=0, max_value=1000, help_text="Lower runs first.")
    enabled = forms.BooleanField(required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, rule: FraudRule, **kwargs: Any) -> None:
        self.rule = rule
        kwargs.setdefault(
            "initial",
            {
                "condition": rule.condition,
                "kind": "" if rule.condition else rule.kind,
                "parameters": None if rule.condition else rule.parameters,
                "action": action_text(rule),
                "priority": rule.priority,
                "enabled": rule.enabled,
                "version": rule.version,
            },
        )
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            action, action_parameters = parse_action(data["action"])
        except RuleError as exc:
            self.add_error("action", str(exc))
            return data
        condition = data["condition"].strip()
        if condition:
            if data["kind"] or data["parameters"] is not None:
                self.add_error(
                    "condition", "give either a condition or kind + parameters, not both"
                )
                return data
            try:
                kind, parameters = parse_condition(condition)
            except RuleError as exc:
                self.add_error("condition", str(exc))
                return data
            field = "condition"
        else:
            if not data["kind"]:
                self.add_error("kind", "choose a kind, or give a condition")
            if data["parameters"] is None:
                self.add_error("parameters", "required without a condition")
            if self.errors:
                return data
            kind, parameters, field = data["kind"], data["parameters"], "parameters"
        if isinstance(parameters, dict):
            parameters = {**parameters, **action_parameters}
        try:
            validate_parameters(kind, parameters, action)
        except RuleError as exc:
            self.add_error(field, str(exc))
            return data
        data["spec"] = RuleSpec(
            name=self.rule.name,
            kind=kind,
            parameters=parameters,
            action=action,
            condition=condition,
            priority=data["priority"],
            enabled=data["enabled"],
        )
        return data
