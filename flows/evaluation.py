"""What changed after support, from the published set and the staged intervention list: the
file edge of transforms.impact (used by `mcn impact`, `mcn business-case` and the workbook).

The intervention list is read only from staged data made under its signed agreement in force
(governance/policies/interventions.yaml, the same binding rules as a partner's extract). Its
person ids are matched to the current cohort; starts whose person is not in it (an id from an
older cohort, or someone since opted out) are counted and left out. The panel is each person's
monthly cost (the service-use table priced by the unit cost table); the comparison pool is
every cohort person never on the list. Only controlled figures leave (transforms.impact_output).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from flows.config import Zones
from flows.errors import NothingThere
from flows.staging import Binding, current_files
from governance.keys import load_linkage_key
from governance.policy import load_approved, require_in_force
from schemas.registry import list_names, partner
from transforms.costs import UnitCosts
from transforms.impact import Impact, ImpactSettings, estimate

INTERVENTIONS = list_names()[0]
# Matching: the cohort's age band and coarse area (the postcode area, the district's letters);
# the cohort holds no sex column, so it is not matched on (docs/evaluation.md)
MATCH_ON = ("age_band", "area")


def load_starts(zones: Zones, on: dt.date | None = None) -> pl.DataFrame:
    """person_id, start: the staged intervention list, under its current signed agreement."""
    policy, approval = load_approved(INTERVENTIONS)
    require_in_force(policy, on or dt.date.today())
    key = load_linkage_key()
    ex = partner(INTERVENTIONS).extracts[0]
    files = current_files(zones, ex, Binding(approval.sha256, key.key_id), key)
    if not files:
        raise NothingThere(
            f"no intervention list is staged under its current agreement ({zones.staged}). "
            f"Fix: drop it in {zones.landing / INTERVENTIONS}/ with its manifest and run "
            "`mcn run` (see docs/evaluation.md)"
        )
    frames = [pl.read_parquet(f.path) for f in files]
    rows = pl.concat(frames, how="diagonal_relaxed").unique(
        "record_key", keep="last", maintain_order=True
    )
    # a person supported twice: their first start
    return (
        rows.select("person_id", pl.col(ex.event_date).alias("start"))
        .group_by("person_id")
        .agg(pl.col("start").min())
        .sort("person_id")
    )


def monthly_panel(use: pl.DataFrame, prices: pl.DataFrame, agency: str | None) -> pl.DataFrame:
    """person_id, month, value: cost per person-month (one agency's, or all). Two zero rows of
    no one hold the months the whole table covers, so every agency's panel has the same
    observed months (a month with no use of one agency is a month of zero, not unobserved)."""
    priced = use.join(prices, on="event_type")
    if agency is not None:
        priced = priced.filter(pl.col("agency") == agency)
    panel = priced.group_by("person_id", "month").agg(
        (pl.col("events") * pl.col("unit_cost")).sum().alias("value")
    )
    bounds = pl.DataFrame(
        {"person_id": ["", ""], "month": [use["month"].min(), use["month"].max()]},
        schema={"person_id": pl.String, "month": pl.Date},
    ).with_columns(pl.lit(0.0).alias("value"))
    return pl.concat([panel, bounds])


def matching_people(cohort: pl.DataFrame) -> pl.DataFrame:
    return cohort.select(
        "person_id",
        pl.col("age_band").fill_null("unknown"),
        pl.col("postcode_district").str.extract(r"^([A-Za-z]+)").fill_null("unknown").alias("area"),
    )


@dataclass
class Evaluation:
    total: Impact
    by_agency: dict[str, Impact]
    starts_listed: int
    starts_not_in_cohort: int


def evaluate(
    cohort: pl.DataFrame,
    use: pl.DataFrame,
    starts: pl.DataFrame,
    costs: UnitCosts,
    price_year: int,
    settings: ImpactSettings | None = None,
) -> Evaluation:
    """The difference in differences of cost per person-month, in total and per agency."""
    settings = settings or ImpactSettings(match_on=MATCH_ON)
    people = matching_people(cohort)
    supported = starts.join(people.select("person_id"), on="person_id", how="semi")
    prices = costs.in_prices_of(price_year)
    total = estimate(monthly_panel(use, prices, None), people, supported, settings)
    by_agency = {
        agency: estimate(monthly_panel(use, prices, agency), people, supported, settings)
        for agency in sorted(prices["agency"].unique().to_list())
    }
    return Evaluation(total, by_agency, starts.height, starts.height - supported.height)
