"""Rules files in the runbook's shape:

    rules:
      - name: Unusual Transaction Pattern
        condition: transaction_count > 100 within 1h from same_card
        action: flag_for_review

Optional per rule: `priority` (int, lower first), `enabled` (bool), or `kind` + `parameters`
instead of `condition`. Every problem is reported with where it is, before anything changes.
"""

from pathlib import Path
from typing import Any

import yaml

from fraud.rules import RuleError, RuleSpec, parse_action, parse_condition, validate_parameters

_KNOWN = {"name", "condition", "kind", "parameters", "action", "priority", "enabled"}


class RulesFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _spec(index: int, entry: Any) -> RuleSpec:
    where = f"rules[{index}]"
    if not isinstance(entry, dict):
        raise RuleError(f"{where}: each rule is a mapping with name, condition and action")
    unknown = sorted(set(entry) - _KNOWN)
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise RuleError(f"{where}.name: required, at most 100 characters")
    where = f"{where} ({name})"
    if not isinstance(entry.get("action"), str):
        raise RuleError(f"{where}.action: required")
    try:
        action, action_parameters = parse_action(entry["action"])
    except RuleError as exc:
        raise RuleError(f"{where}.action: {exc}") from exc
    condition = entry.get("condition", "")
    if "condition" in entry:
        if "kind" in entry or "parameters" in entry:
            raise RuleError(f"{where}: give either condition or kind + parameters, not both")
        if not isinstance(condition, str):
            raise RuleError(f"{where}.condition: must be text")
        try:
            kind, parameters = parse_condition(condition)
        except RuleError as exc:
            raise RuleError(f"{where}.condition: {exc}") from exc
    else:
        kind, parameters = entry.get("kind"), entry.get("parameters", {})
        if not isinstance(kind, str):
            raise RuleError(f"{where}: needs a condition (or kind + parameters)")
    parameters = {**parameters, **action_parameters}
    priority = entry.get("priority", 100)
    enabled = entry.get("enabled", True)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
        raise RuleError(f"{where}.priority: an integer from 0 to 1000")
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}.enabled: true or false")
    try:
        validate_parameters(kind, parameters, action)
    except RuleError as exc:
        raise RuleError(f"{where}: {exc}") from exc
    return RuleSpec(name.strip(), kind, parameters, action, condition, priority, enabled)


def parse_rules(text: str) -> list[RuleSpec]:
    """Parse and validate a whole rules document; raise RulesFileError listing every problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RulesFileError([f"not valid YAML{at}: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesFileError(["the file must have a top-level 'rules:' list"])
    specs, problems, names = [], [], set()
    for index, entry in enumerate(document["rules"]):
        try:
            spec = _spec(index, entry)
        except RuleError as exc:
            problems.append(str(exc))
            continue
        if spec.name in names:
            problems.append(f"rules[{index}] ({spec.name}): duplicate name")
        names.add(spec.name)
        specs.append(spec)
    if problems:
        raise RulesFileError(problems)
    return specs


def load_rules_file(path: Path) -> list[RuleSpec]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise RulesFileError([f"cannot read {path}: {exc.strerror}"]) from exc
    return parse_rules(text)
