"""What the cohort costs, as tables that may leave the partnership: cost per person per year by
bearing agency, by need combination and by framework, each through disclosure control.

A cost table is a magnitude table (sums of pounds), not a count table, so three rules apply on
top of governance.disclosure's control of the people counts:

1. **The count's pattern.** For a partition of people (need combination, framework) the number
   of people in each group is controlled by governance.disclosure.control (small counts
   redacted, a second cell where the total would give one away, rounded). A group whose count
   is redacted shows no cost either: same cells hidden, so the total cost does not give a
   hidden group's cost away.
2. **Dominance** (the (n, k) rule of tau-ARGUS): a cell whose DOMINANCE_N costliest people
   carry more than DOMINANCE_K of its cost is hidden: its figure would be close to one
   person's cost. Where a line then has exactly one cost hidden, the next smallest is hidden
   too (the total less the rest would show it).
3. **Rounding.** Totals to the nearest ROUND_TOTAL pounds, per-person figures to ROUND_MEAN.

The agency table is not a partition (a person uses several services): each agency's cell has
its people with any cost there, hidden when 1..threshold, and the dominance rule.

    person costs   person_id, agency, year, cost (transforms.costs.cost_use)
    cohort         person_id, need_<domain> flags, mcn_flag
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from governance.disclosure import DEFAULT_RULES, TOTAL, DisclosureRules, control, round_to
from schemas.cohort import NEEDS
from transforms.costs import distribution

DOMINANCE_N = 2  # the costliest two people ...
DOMINANCE_K = 0.85  # ... may carry at most 85% of a cell's cost
ROUND_TOTAL = 1_000
ROUND_MEAN = 10
# The distribution (median, quartiles) is shown only over at least this many people: a quantile
# is one person's figure, safe only among many
DISTRIBUTION_MIN_PEOPLE = 50
NO_NEEDS = "none"
FRAMEWORK_IN = "MCN cohort"
FRAMEWORK_OUT = "other linked people"


@dataclass
class CostTable:
    """A controlled cost table: dim, people, total_cost, cost_per_person (null where hidden)."""

    published: pl.DataFrame
    dim: str
    year: int
    hidden_small: int  # cells hidden because their people count is small (or its complement)
    hidden_dominance: int  # cells hidden by the dominance rule (or its complement)

    def record(self) -> dict:
        return {
            "dim": self.dim,
            "year": self.year,
            "cells": self.published.height,
            "hidden_small_or_complement": self.hidden_small,
            "hidden_dominance_or_complement": self.hidden_dominance,
            "rules": {
                "dominance": f"top {DOMINANCE_N} > {DOMINANCE_K:.0%}",
                "round_total": ROUND_TOTAL,
                "round_mean": ROUND_MEAN,
            },
        }


def need_combination() -> pl.Expr:
    """The flagged needs of a person, joined with '+', in NEEDS order ('none' when none)."""
    parts = [pl.when(pl.col(f"need_{n}")).then(pl.lit(n)) for n in NEEDS]
    joined = pl.concat_str(parts, separator="+", ignore_nulls=True)
    return pl.when(joined == "").then(pl.lit(NO_NEEDS)).otherwise(joined).alias("need_combination")


def framework() -> pl.Expr:
    return (
        pl.when(pl.col("mcn_flag"))
        .then(pl.lit(FRAMEWORK_IN))
        .otherwise(pl.lit(FRAMEWORK_OUT))
        .alias("framework")
    )


def person_year_costs(per_person: pl.DataFrame, cohort: pl.DataFrame, year: int) -> pl.DataFrame:
    """Every cohort person's cost in `year` (zero when they used nothing costed that year), with
    their need combination and framework."""
    spent = (
        per_person.filter(pl.col("year") == year).group_by("person_id").agg(pl.col("cost").sum())
    )
    return (
        cohort.select("person_id", need_combination(), framework())
        .join(spent, on="person_id", how="left")
        .with_columns(pl.col("cost").fill_null(0.0))
    )


def partition_table(
    people: pl.DataFrame, dim: str, year: int, rules: DisclosureRules = DEFAULT_RULES
) -> CostTable:
    """Cost per person in `year` by a partition of people (need_combination or framework)."""
    counts = people.group_by(dim).agg(pl.len().alias("people")).sort(dim)
    controlled = control(counts, [dim], "people", rules)
    labels = controlled.published[dim].to_list()
    costs = {label: people.filter(pl.col(dim) == label)["cost"] for label in labels}
    costs[TOTAL] = people["cost"]
    hidden = [v is None for v in controlled.published["people"].to_list()]
    small = sum(hidden)
    hidden, dominance = _dominance(labels, costs, hidden)
    return CostTable(
        _frame(dim, labels, controlled.published["people"].to_list(), costs, hidden, True),
        dim,
        year,
        small,
        dominance,
    )


def agency_table(
    per_person: pl.DataFrame,
    population: pl.Series,
    year: int,
    rules: DisclosureRules = DEFAULT_RULES,
) -> CostTable:
    """Cost per person in `year` by bearing agency, over `population` (person ids: all of them
    are the denominator, users of the agency or not)."""
    rows = per_person.filter(
        (pl.col("year") == year) & pl.col("person_id").is_in(population.implode())
    )
    labels = sorted(rows["agency"].unique().to_list()) + [TOTAL]
    costs = {a: rows.filter(pl.col("agency") == a)["cost"] for a in labels[:-1]}
    costs[TOTAL] = rows.group_by("person_id").agg(pl.col("cost").sum())["cost"]
    users = [costs[a].len() for a in labels]
    hidden = [1 <= n <= rules.threshold for n in users]
    small = sum(hidden)
    if sum(hidden[:-1]) == 1:  # the total less the rest would show it
        hidden = _complement(labels, costs, hidden)
        small += 1
    hidden, dominance = _dominance(labels, costs, hidden)
    n = population.len()
    return CostTable(
        _frame("agency", labels, [n] * len(labels), costs, hidden, False, rules),
        "agency",
        year,
        small,
        dominance,
    )


def _dominated(cost: pl.Series) -> bool:
    total = float(cost.sum())
    if total <= 0:
        return False
    top = float(cost.sort(descending=True).head(DOMINANCE_N).sum())
    return bool(top > DOMINANCE_K * total)


def _dominance(
    labels: list, costs: dict[str, pl.Series], hidden: list[bool]
) -> tuple[list[bool], int]:
    hidden = hidden[:]
    fired = [i for i, a in enumerate(labels) if not hidden[i] and _dominated(costs[a])]
    for i in fired:
        hidden[i] = True
    if fired and sum(hidden[:-1]) == 1:
        hidden = _complement(labels, costs, hidden)
        return hidden, len(fired) + 1
    return hidden, len(fired)


def _complement(labels: list, costs: dict[str, pl.Series], hidden: list[bool]) -> list[bool]:
    """Hide the smallest cost still shown among the cells (else the total)."""
    open_cells = [i for i in range(len(labels) - 1) if not hidden[i]]
    pick = min(open_cells, key=lambda i: costs[labels[i]].sum()) if open_cells else len(labels) - 1
    return [h or i == pick for i, h in enumerate(hidden)]


def _frame(
    dim: str,
    labels: list,
    people: list,
    costs: dict[str, pl.Series],
    hidden: list[bool],
    partition: bool,
    rules: DisclosureRules = DEFAULT_RULES,
) -> pl.DataFrame:
    """The published rows: people (controlled), total and per-person cost (rounded), or nulls."""
    out: dict[str, list] = {dim: [], "people": [], "total_cost": [], "cost_per_person": []}
    for label, n, h in zip(labels, people, hidden, strict=True):
        total = float(costs[label].sum())
        denominator = costs[label].len() if partition else n
        out[dim].append(str(label))
        out["people"].append(n if partition or n is None else round_to(n, rules.rounding))
        out["total_cost"].append(None if h else round_to(int(round(total)), ROUND_TOTAL))
        per = total / denominator if denominator else 0.0
        out["cost_per_person"].append(None if h else round_to(int(round(per)), ROUND_MEAN))
    return pl.DataFrame(
        out,
        schema={
            dim: pl.String,
            "people": pl.Int64,
            "total_cost": pl.Int64,
            "cost_per_person": pl.Int64,
        },
    )


def controlled_distribution(people: pl.DataFrame) -> dict:
    """Median, quartiles and the costliest tenth's share of the per-person costs in `people`
    (person_id, cost), rounded; withheld below DISTRIBUTION_MIN_PEOPLE people."""
    n = people.height
    if n < DISTRIBUTION_MIN_PEOPLE:
        return {"withheld": f"fewer than {DISTRIBUTION_MIN_PEOPLE} people"}
    d = distribution(people)
    return {
        "people": round_to(n, DEFAULT_RULES.rounding),
        **{k: round_to(int(round(d[k])), ROUND_MEAN) for k in ("q1", "median", "q3")},
        "share_costliest_tenth": round(d["share_costliest_tenth"], 2),
    }
