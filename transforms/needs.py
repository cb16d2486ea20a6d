"""Qualifying events and compiled need rules.

Each partner's module, `transforms/partners/<name>.py`, declares the qualifying events its
records can show (`EVENTS`: an extract and a polars condition over its staged columns). A needs
framework (transforms/frameworks/*.yaml, loaded by transforms.framework) says which events
count towards which need and over which lookback; compiled, it is a tuple of `NeedRule`s that
`need_events` applies to the staged data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.registry import partner, partner_module, partner_names

# An event whose every record counts (any record of that extract within the lookback).
ANY = pl.lit(True)


@dataclass(frozen=True)
class Event:
    name: str  # the kind of event; frameworks refer to it (partners may share a kind)
    extract: str  # an extract of the partner whose module declares the event
    condition: pl.Expr  # over the extract's staged columns
    description: str
    partner: str = ""  # filled in from the module's name by partner_events()

    @property
    def columns(self) -> list[str]:
        """The staged columns the condition reads."""
        return sorted(set(self.condition.meta.root_names()))


@dataclass(frozen=True)
class NeedRule:
    """One event counted towards one need (a cohort need domain) over a lookback."""

    need: str  # one of schemas.cohort.NEEDS
    event: Event
    lookback_days: int

    @property
    def partner(self) -> str:
        return self.event.partner

    @property
    def extract(self) -> str:
        return self.event.extract

    @property
    def description(self) -> str:
        return self.event.description


def partner_events(name: str) -> tuple[Event, ...]:
    events: tuple[Event, ...] = partner_module(name, "transforms").EVENTS
    return tuple(dataclasses.replace(e, partner=name) for e in events)


def all_events() -> dict[str, tuple[Event, ...]]:
    """Every partner's events by name, in registry order. Partners may declare the same kind of
    event (two services of one kind): a framework naming it counts each."""
    out: dict[str, tuple[Event, ...]] = {}
    for name in partner_names():
        for e in partner_events(name):
            out[e.name] = (*out.get(e.name, ()), e)
    return out


def need_events(
    staged: dict[tuple[str, str], pl.LazyFrame],
    run_date: dt.date,
    rules: tuple[NeedRule, ...],
) -> pl.LazyFrame:
    """(record_key, need, event_date) for every qualifying event inside its need's lookback
    (both ends of the window count)."""
    parts = []
    for rule in rules:
        lf = staged.get((rule.partner, rule.extract))
        if lf is None:
            continue
        start = run_date - dt.timedelta(days=rule.lookback_days)
        date_col = partner(rule.partner).extract(rule.extract).event_date
        parts.append(
            lf.filter(
                rule.event.condition.fill_null(False),
                pl.col(date_col).is_between(start, run_date),
            ).select(
                "record_key", pl.lit(rule.need).alias("need"), pl.col(date_col).alias("event_date")
            )
        )
    if not parts:
        return pl.LazyFrame(
            schema={"record_key": pl.String, "need": pl.String, "event_date": pl.Date}
        )
    return pl.concat(parts)
