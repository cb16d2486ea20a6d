"""What the cohort costs, from the published set: the file edge of transforms.costs and
transforms.cost_tables (used by `mcn costs`, `mcn business-case` and the demo's workbook).

Only disclosure-controlled tables leave this module: cost per person per year by bearing
agency (MCN cohort), by need combination and by framework, and the cost distribution.
Each carries the unit cost table's name, version, price year and whether it is illustrative.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from flows import publish
from flows.config import Zones
from flows.errors import NothingThere
from transforms.cost_tables import (
    FRAMEWORK_IN,
    CostTable,
    agency_table,
    controlled_distribution,
    partition_table,
    person_year_costs,
)
from transforms.costs import Costed, CostTableError, UnitCosts, cost_use, load_unit_costs

ENV_UNIT_COSTS = "MCN_UNIT_COSTS"  # a partnership's own unit cost table (YAML)
ILLUSTRATIVE_COSTS = Path(__file__).parent / "unit_costs" / "illustrative.yaml"
ILLUSTRATIVE_LABEL = "ILLUSTRATIVE unit costs (demo): not for decisions"


def unit_costs_path(given: Path | None = None) -> Path:
    """The table given, else $MCN_UNIT_COSTS, else the demo's illustrative table."""
    return Path(given or os.environ.get(ENV_UNIT_COSTS) or ILLUSTRATIVE_COSTS)


def published_tables(zones: Zones) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The current set's cohort and service use, checked against the signed audit log."""
    if not (zones.current / "service_use.parquet").exists():
        raise NothingThere(
            f"no service-use table under {zones.current}. Fix: run `mcn run` (or `make demo`) "
            "first, or pass --data-dir"
        )
    cohort = pl.read_parquet(publish.verified_table(zones, "cohort"))
    use = pl.read_parquet(publish.verified_table(zones, "service_use"))
    return cohort, use


def default_year(use: pl.DataFrame) -> int:
    """The last whole calendar year the service-use table covers."""
    if use.is_empty():
        return dt.date.today().year - 1
    last = use["month"].max()
    assert isinstance(last, dt.date)
    return last.year if last.month == 12 else last.year - 1


@dataclass
class CostReport:
    costs: UnitCosts
    price_year: int
    year: int
    tables: dict[str, CostTable]
    distribution: dict
    uncosted: pl.DataFrame  # event_type: event types with no unit cost
    costed: Costed | None = field(default=None, repr=False)

    def labels(self) -> dict:
        """What every output of these figures says about them."""
        return {
            "unit_costs": self.costs.name,
            "unit_costs_version": self.costs.version,
            "illustrative": ILLUSTRATIVE_LABEL if self.costs.illustrative else "no",
            "price_year": self.price_year,
            "cost_year": self.year,
            "uncosted_event_types": ", ".join(self.uncosted["event_type"]) or "none",
        }


def cost_report(
    zones: Zones,
    unit_costs: Path | None = None,
    year: int | None = None,
    price_year: int | None = None,
) -> CostReport:
    costs = load_unit_costs(unit_costs_path(unit_costs))
    cohort, use = published_tables(zones)
    price_year = price_year or max(costs.deflators, default=0)
    if not price_year:
        raise CostTableError(
            f"unit costs {costs.name} have no deflator series. Fix: add `deflators:`"
        )
    year = year or default_year(use)
    costed = cost_use(use, costs, price_year)
    people = person_year_costs(costed.per_person, cohort, year)
    mcn = people.filter(pl.col("framework") == FRAMEWORK_IN)
    tables = {
        "agency": agency_table(
            costed.per_person, cohort.filter(pl.col("mcn_flag"))["person_id"], year
        ),
        "need_combination": partition_table(mcn, "need_combination", year),
        "framework": partition_table(people, "framework", year),
    }
    uncosted = costed.uncosted.select("event_type")  # named, never counted (counts may be small)
    return CostReport(
        costs, price_year, year, tables, controlled_distribution(mcn), uncosted, costed
    )
