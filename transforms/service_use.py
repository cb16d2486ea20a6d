"""Service use per person and month: counts per event type from every partner's staged events.

Each partner's module (`transforms/partners/<name>.py`) declares `SERVICE_USE`: the event types
its records give, each an extract and a condition over its staged columns (like a need rule).
An event is dated by its extract's event date (the contract's `event_date`). Event type names
are unique across partners (checked here), so the unit cost table can price each once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl

from schemas.registry import partner, partner_module, partner_names
from schemas.service_use import COLUMN_NAMES


@dataclass(frozen=True)
class UseRule:
    event_type: str  # unique across partners; the unit cost table's key
    extract: str  # an extract of the partner whose module declares the rule
    condition: pl.Expr  # over the extract's staged columns
    description: str
    partner: str = ""  # filled in from the module's name by use_rules()

    @property
    def columns(self) -> list[str]:
        return sorted(set(self.condition.meta.root_names()))


def partner_use_rules(name: str) -> tuple[UseRule, ...]:
    rules: tuple[UseRule, ...] = getattr(partner_module(name, "transforms"), "SERVICE_USE", ())
    return tuple(dataclasses.replace(r, partner=name) for r in rules)


def use_rules() -> tuple[UseRule, ...]:
    """Every partner's event types, in registry order; a name used twice is a mistake."""
    rules = tuple(r for name in partner_names() for r in partner_use_rules(name))
    seen: dict[str, str] = {}
    for r in rules:
        if r.event_type in seen:
            raise ValueError(
                f"event type {r.event_type} is declared by {seen[r.event_type]} and {r.partner}: "
                "name each event type once (transforms/partners/<name>.py, SERVICE_USE)"
            )
        seen[r.event_type] = r.partner
    return rules


def event_types() -> tuple[str, ...]:
    return tuple(r.event_type for r in use_rules())


def use_events(staged: dict[tuple[str, str], pl.LazyFrame]) -> pl.LazyFrame:
    """(record_key, event_type, event_date) for every event a rule counts."""
    parts = []
    for rule in use_rules():
        lf = staged.get((rule.partner, rule.extract))
        if lf is None:
            continue
        date_col = partner(rule.partner).extract(rule.extract).event_date
        parts.append(
            lf.filter(rule.condition.fill_null(False), pl.col(date_col).is_not_null()).select(
                "record_key",
                pl.lit(rule.event_type).alias("event_type"),
                pl.col(date_col).alias("event_date"),
            )
        )
    if not parts:
        return pl.LazyFrame(
            schema={"record_key": pl.String, "event_type": pl.String, "event_date": pl.Date}
        )
    return pl.concat(parts)


def service_use_table(events: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """person_id, month, event_type, events: linked records only (a record of a person removed
    by the opt-out or an objection has no link, so it counts nowhere)."""
    return (
        events.join(links.select("record_key", "person_id"), on="record_key")
        .with_columns(pl.col("event_date").dt.truncate("1mo").alias("month"))
        .group_by("person_id", "month", "event_type")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .select(COLUMN_NAMES)
        .sort("person_id", "month", "event_type")
    )
