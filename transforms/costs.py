"""Unit costs as versioned data, and what service use costs each agency.

A unit cost table has the shape of the Unit Cost Database that HM Treasury's local-partnership
CBA guidance (April 2014) uses: one row per event type, with the agency that bears the cost, the
cost, its source, the year it was estimated in and its price base. A deflator series (year ->
index, e.g. HM Treasury's GDP deflators) kept beside it uplifts every cost to one price year:

    cost in price year P = cost x deflator[P] / deflator[price base]

Every event type in the service-use table either has a cost or is reported as uncosted; nothing
is silently priced at zero. A table's version is the SHA-256 of its rows and deflators, so any
change to a definition changes it.

    unit costs  event_type, agency, unit_cost, source, year, price_base
    deflators   year, index
    use         person_id, month, event_type, events (a count)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from schemas.errors import ExitCode, UserError

UNIT_COST_COLUMNS = ("event_type", "agency", "unit_cost", "source", "year", "price_base")
# Optional: the share of a saving on this cost that is cashable (0..1); empty means the business
# case's default (transforms/business_case.py)
CASHABLE = "cashable"


class CostTableError(UserError):
    """A unit cost table or deflator series that cannot be used as it stands."""

    exit_code = ExitCode.BAD_EVIDENCE_SETTINGS


@dataclass(frozen=True)
class UnitCosts:
    table: pl.DataFrame  # UNIT_COST_COLUMNS
    deflators: dict[int, float]
    illustrative: bool  # the demo's table: every output it touches says so
    name: str

    @property
    def version(self) -> str:
        doc = {
            "rows": self.table.sort("event_type").to_dicts(),
            "deflators": {str(k): v for k, v in sorted(self.deflators.items())},
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    def in_prices_of(self, year: int) -> pl.DataFrame:
        """Every unit cost uplifted to `year`'s prices: event_type, agency, unit_cost."""
        missing = sorted({year, *self.table["price_base"].to_list()} - set(self.deflators), key=int)
        if missing:
            raise CostTableError(
                f"unit costs {self.name}: no deflator for year(s) "
                f"{', '.join(map(str, missing))}. Fix: add them to the deflator series"
            )
        target = self.deflators[year]
        factor = pl.col("price_base").replace_strict(
            {y: target / d for y, d in self.deflators.items()}, return_dtype=pl.Float64
        )
        return self.table.select(
            "event_type", "agency", (pl.col("unit_cost") * factor).alias("unit_cost"), CASHABLE
        )


def load_unit_costs(path: Path) -> UnitCosts:
    """A YAML file: name, illustrative (bool), deflators {year: index}, costs [rows]."""
    where = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CostTableError(
            f"unit costs could not be read ({type(exc).__name__}) ({where}). "
            "Fix: check the path and the YAML"
        ) from None
    rows = doc.get("costs") if isinstance(doc, dict) else None
    if not rows:
        raise CostTableError(f"unit costs ({where}) list no costs. Fix: add a `costs:` list")
    problems = []
    for i, row in enumerate(rows):
        absent = [c for c in UNIT_COST_COLUMNS if c not in row]
        if absent:
            problems.append(f"costs[{i}] lacks {', '.join(absent)}")
        elif not isinstance(row["unit_cost"], int | float) or row["unit_cost"] < 0:
            problems.append(f"costs[{i}].unit_cost is not a non-negative number")
        share = row.get(CASHABLE)
        if share is not None and not (isinstance(share, int | float) and 0 <= share <= 1):
            problems.append(f"costs[{i}].{CASHABLE} is not a share from 0 to 1")
    rows = [{CASHABLE: None, **r} for r in rows if isinstance(r, dict)]
    table = (
        pl.DataFrame(rows, schema_overrides={"unit_cost": pl.Float64, CASHABLE: pl.Float64})
        if not problems
        else None
    )
    if table is not None and table["event_type"].is_duplicated().any():
        problems.append("an event_type is listed twice")
    if problems:
        raise CostTableError(
            f"unit costs ({where}): {'; '.join(problems)}. Fix: one row per event type with "
            f"{', '.join(UNIT_COST_COLUMNS)}"
        )
    assert table is not None
    deflators = {int(k): float(v) for k, v in (doc.get("deflators") or {}).items()}
    return UnitCosts(
        table.select(*UNIT_COST_COLUMNS, CASHABLE),
        deflators,
        bool(doc.get("illustrative", False)),
        str(doc.get("name") or Path(path).stem),
    )


@dataclass
class Costed:
    per_person: pl.DataFrame  # person_id, agency, year, cost
    uncosted: pl.DataFrame  # event_type, events: event types with no unit cost
    price_year: int
    version: str
    illustrative: bool


def cost_use(use: pl.DataFrame, costs: UnitCosts, price_year: int) -> Costed:
    """Cost per person, bearing agency and calendar year, in `price_year` prices. Event types
    without a unit cost are reported with their event counts, never priced at zero."""
    prices = costs.in_prices_of(price_year)
    joined = use.join(prices, on="event_type", how="left")
    uncosted = (
        joined.filter(pl.col("unit_cost").is_null())
        .group_by("event_type")
        .agg(pl.col("events").sum())
        .sort("event_type")
    )
    per_person = (
        joined.filter(pl.col("unit_cost").is_not_null())
        .with_columns(pl.col("month").dt.year().alias("year"))
        .group_by("person_id", "agency", "year")
        .agg((pl.col("events") * pl.col("unit_cost")).sum().alias("cost"))
        .sort("person_id", "agency", "year")
    )
    return Costed(per_person, uncosted, price_year, costs.version, costs.illustrative)


def distribution(per_person: pl.DataFrame) -> dict[str, float]:
    """Cost per person (all agencies, all years in the frame): median, quartiles and the share
    carried by the costliest tenth."""
    totals = per_person.group_by("person_id").agg(pl.col("cost").sum())["cost"].sort()
    if totals.is_empty():
        return {"people": 0}
    n = totals.len()
    top = totals[int(n * 0.9) :].sum() if n >= 10 else totals.max()
    return {
        "people": n,
        "median": float(totals.median()),  # type: ignore[arg-type]
        "q1": float(totals.quantile(0.25)),  # type: ignore[arg-type]
        "q3": float(totals.quantile(0.75)),  # type: ignore[arg-type]
        "share_costliest_tenth": float(top / totals.sum()) if totals.sum() else 0.0,  # type: ignore[operator,arg-type]
    }
