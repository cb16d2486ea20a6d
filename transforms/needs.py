"""Need definitions: which partner events flag which need domain, within a lookback window.

Each partner's rules live in its own module, `transforms/partners/<name>.py` (`NEED_RULES`);
`need_rules()` gathers them through the registry. Definitions are versioned (NEEDS_VERSION is
written with every cohort) so a change in how a need is defined shows in the audit trail and in
the figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.cohort import DEFAULT_LOOKBACK_DAYS
from schemas.registry import partner, partner_module, partner_names

NEEDS_VERSION = "needs-v2"
# A rule whose every event counts (any record of that extract within the lookback).
ANY = pl.lit(True)


@dataclass(frozen=True)
class NeedRule:
    need: str  # one of schemas.cohort.NEEDS
    extract: str  # an extract of the partner whose module declares the rule
    condition: pl.Expr  # over the extract's staged columns
    description: str
    partner: str = ""  # filled in from the module's name by need_rules()

    @property
    def columns(self) -> list[str]:
        """The staged columns the condition reads."""
        return sorted(set(self.condition.meta.root_names()))


def partner_need_rules(name: str) -> tuple[NeedRule, ...]:
    rules: tuple[NeedRule, ...] = partner_module(name, "transforms").NEED_RULES
    return tuple(dataclasses.replace(r, partner=name) for r in rules)


def need_rules() -> tuple[NeedRule, ...]:
    """Every partner's need rules, in registry order."""
    return tuple(r for name in partner_names() for r in partner_need_rules(name))


def need_events(
    staged: dict[tuple[str, str], pl.LazyFrame],
    run_date: dt.date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pl.LazyFrame:
    """(record_key, need, event_date) for every qualifying event inside the lookback."""
    start = run_date - dt.timedelta(days=lookback_days)
    parts = []
    for rule in need_rules():
        lf = staged.get((rule.partner, rule.extract))
        if lf is None:
            continue
        date_col = partner(rule.partner).extract(rule.extract).event_date
        parts.append(
            lf.filter(
                rule.condition.fill_null(False), pl.col(date_col).is_between(start, run_date)
            ).select(
                "record_key", pl.lit(rule.need).alias("need"), pl.col(date_col).alias("event_date")
            )
        )
    if not parts:
        return pl.LazyFrame(
            schema={"record_key": pl.String, "need": pl.String, "event_date": pl.Date}
        )
    return pl.concat(parts)
