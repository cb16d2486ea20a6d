"""Check qualifying events, needs frameworks and linkage settings against the contracts and
policies, before any partner is read, and report every problem at once (as Splink validates
its settings).

Catches what would otherwise pass silently or fail late: a framework need the cohort does not
have or an event no partner declares (SET001, SET005; partners may declare the same kind of
event, and a framework naming it counts each), an event on an extract or column the
contract lacks or the policy does not keep (SET002-SET004: it would fail after every partner is
ingested), a threshold nobody can meet (SET006), and a token the linkage settings use that no
match key makes (SET010: a renamed token would become an all-null column).
"""

from __future__ import annotations

from pathlib import Path

from governance import match_keys
from governance.errors import Problem, SettingsError
from governance.match_keys import token_column
from governance.policy import Policy, policy_path
from governance.pseudonymise import staged_columns
from schemas.registry import partner, partner_module
from transforms import blocking, compare, probabilistic
from transforms.framework import framework_problems
from transforms.needs import Event, partner_events


def _shown(path: str | None) -> str:
    """A module's file, relative to the working directory when under it."""
    if path is None:
        return "?"
    p = Path(path)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def event_problems(policies: dict[str, Policy]) -> list[Problem]:
    """Every qualifying event of the partners with a policy: its extract and columns."""
    problems = []
    for name, policy in policies.items():
        where = _shown(partner_module(name, "transforms").__file__)
        for i, event in enumerate(partner_events(name)):
            problems += _event_problems(name, policy, event, where, f"EVENTS[{i}]")
    return problems


def _event_problems(name: str, policy: Policy, rule: Event, where: str, key: str) -> list[Problem]:
    out = []
    extracts = {ex.name: ex for ex in partner(name).extracts}
    if rule.extract not in extracts:
        out.append(
            Problem(
                where,
                f"{key}.extract",
                "SET002",
                f"{name} sends no extract {rule.extract} (it sends {', '.join(sorted(extracts))})",
            )
        )
        return out
    ex = extracts[rule.extract]
    staged = set(staged_columns(ex, policy))
    for col in rule.columns:
        if col not in ex.column_names:
            out.append(
                Problem(
                    where,
                    f"{key}.condition.{col}",
                    "SET003",
                    f"column is not in the {name}/{ex.name} contract (docs/schemas.md)",
                )
            )
        elif col not in staged:
            out.append(
                Problem(
                    where,
                    f"{key}.condition.{col}",
                    "SET004",
                    f"the policy does not keep this column "
                    f"({_shown(str(policy_path(name)))}: extracts.{ex.name}.{col}): keep it "
                    "there (and have it signed) or change the rule",
                )
            )
    return out


def linkage_settings() -> dict[str, tuple[str, ...]]:
    """Every token column the linkage settings name, by where it is named."""
    out: dict[str, tuple[str, ...]] = {
        "transforms/probabilistic.py: ID_COLUMNS": probabilistic.ID_COLUMNS,
        "transforms/probabilistic.py: BASE_COLUMNS": probabilistic.BASE_COLUMNS,
        "transforms/probabilistic.py: PRIOR_RULE": tuple(probabilistic.PRIOR_RULE.values()),
        "transforms/compare.py: ID_COLUMNS": compare.ID_COLUMNS,
    }
    for i, (cols, _fixed) in enumerate(probabilistic.TRAINING_SESSIONS):
        out[f"transforms/probabilistic.py: TRAINING_SESSIONS[{i}]"] = cols
    for rule, (left, right) in blocking.BLOCKING_RULES.items():
        out[f"transforms/blocking.py: BLOCKING_RULES.{rule}"] = (*left, *right)
    for field in compare.FIELDS:
        out[f"transforms/compare.py: FIELDS.{field.name}.base"] = (field.base,)
    return out


def made_tokens() -> set[str]:
    """The token columns pseudonymisation makes (governance/match_keys.py)."""
    return {token_column(k) for k in (*match_keys.MATCH_KEYS, *match_keys.FIELD_TOKENS)}


def linkage_problems() -> list[Problem]:
    made = made_tokens()
    problems = []
    for place, cols in linkage_settings().items():
        file, key = place.split(": ", 1)
        for col in dict.fromkeys(cols):
            if col not in made:
                problems.append(
                    Problem(
                        file,
                        key,
                        "SET010",
                        f"token {col} is made by no match key (governance/match_keys.py): "
                        "rename it here to the key's token, or restore the key",
                    )
                )
    return problems


def settings_problems(policies: dict[str, Policy]) -> list[Problem]:
    return event_problems(policies) + framework_problems() + linkage_problems()


def check_settings(policies: dict[str, Policy]) -> None:
    """Raise SettingsError listing every problem; nothing is read before this passes."""
    problems = settings_problems(policies)
    if problems:
        raise SettingsError(problems)
