"""The rules a contract sets on a raw extract's columns, declared once.

The quarantine (transforms/quality.py) acts on every rule that `quarantines`; the raw
great-expectations suite (flows/checks.py) reports every rule it has an expectation for. Both
read this list, so a contract change moves both.

Identity columns' code lists and the postcode shape are reported, not quarantined: the
canonical forms absorb variants (sex `MALE`, a postcode in lower case), and a value that still
fails only loses its own linkage tokens, not the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.contract import Column

RuleKind = Literal["no_nul_byte", "max_length", "required", "date", "allowed", "format"]


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    column: Column
    quarantines: bool = True  # False: reported by the raw suite only


def column_rules(col: Column) -> list[Rule]:
    """Every rule on one column, in the order checks report them."""
    rules = [Rule("no_nul_byte", col), Rule("max_length", col)]
    if col.required:
        rules.append(Rule("required", col))
    if col.dtype == "date" and col.identity is None:
        rules.append(Rule("date", col))
    if col.allowed:
        rules.append(Rule("allowed", col, quarantines=col.identity is None))
    if col.format:
        rules.append(Rule("format", col, quarantines=col.format != "postcode"))
    return rules
