"""The evidence for a business case, assembled from the published set, the staged intervention
list, the unit cost table and the declared parameters: only controlled figures (flows.costing,
transforms.impact_output), then the guidance's lines (transforms.business_case)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flows.config import Zones
from flows.costing import CostReport, cost_report, published_tables, unit_costs_path
from flows.evaluation import Evaluation, evaluate, load_starts
from transforms.business_case import Parameters, agency_case, load_parameters
from transforms.costs import CASHABLE, UnitCosts, load_unit_costs
from transforms.impact_output import controlled_count, controlled_impact

ENV_PARAMETERS = "MCN_BUSINESS_CASE_PARAMETERS"
DEFAULT_PARAMETERS = Path(__file__).parent / "parameters" / "business_case.yaml"
TOTAL_AGENCIES = "All agencies"


def parameters_path(given: Path | None = None) -> Path:
    return Path(given or os.environ.get(ENV_PARAMETERS) or DEFAULT_PARAMETERS)


def cashable_shares(
    costs: UnitCosts, use: pl.DataFrame, price_year: int, default: float
) -> dict[str, float]:
    """Per agency: its unit costs' cashable shares weighted by the cost they carry in the
    service-use table; `default` where a row states none. Key TOTAL_AGENCIES: all of them."""
    prices = costs.in_prices_of(price_year).with_columns(pl.col(CASHABLE).fill_null(default))
    cost = use.group_by("event_type").agg(pl.col("events").sum()).join(prices, on="event_type")
    cost = cost.with_columns((pl.col("events") * pl.col("unit_cost")).alias("cost"))
    out = {}
    for agency, rows in [(TOTAL_AGENCIES, cost), *cost.group_by("agency")]:
        name = agency if isinstance(agency, str) else agency[0]
        total = float(rows["cost"].sum())
        out[str(name)] = float((rows["cost"] * rows[CASHABLE]).sum()) / total if total else default
    return out


@dataclass
class Evidence:
    costs: CostReport
    evaluation: Evaluation
    impact: dict  # controlled: total
    impact_by_agency: dict[str, dict]  # controlled, per agency
    case: list[dict]  # one line per agency, then all agencies
    parameters: Parameters
    starts_not_in_cohort: int | None

    def labels(self) -> dict:
        return {
            **self.costs.labels(),
            "parameters": self.parameters.name,
            "parameters_version": self.parameters.version,
            "made_on": dt.date.today().isoformat(),
        }


def impact_evidence(
    zones: Zones, unit_costs: Path | None, price_year: int | None
) -> tuple[UnitCosts, int, pl.DataFrame, Evaluation]:
    costs = load_unit_costs(unit_costs_path(unit_costs))
    price_year = price_year or max(costs.deflators)
    cohort, use = published_tables(zones)
    return costs, price_year, use, evaluate(cohort, use, load_starts(zones), costs, price_year)


def business_case(
    zones: Zones,
    unit_costs: Path | None = None,
    parameters: Path | None = None,
    year: int | None = None,
    price_year: int | None = None,
) -> Evidence:
    params = load_parameters(parameters_path(parameters))
    report = cost_report(zones, unit_costs, year, price_year)
    costs, price_year, use, ev = impact_evidence(zones, unit_costs, report.price_year)
    shares = cashable_shares(costs, use, price_year, params.cashable_default)
    total = controlled_impact(ev.total)
    by_agency = {a: controlled_impact(i) for a, i in ev.by_agency.items()}
    people = params.people_per_year or total["supported"] or 0
    case = [
        agency_case(
            a,
            c["naive_before_after_per_person_month"],
            c["did_per_person_month"],
            tuple(c["ci"]),
            shares.get(a, params.cashable_default),
            people,
            params,
        )
        for a, c in [*by_agency.items(), (TOTAL_AGENCIES, total)]
        if isinstance(c["did_per_person_month"], int | float)
    ]
    return Evidence(
        report, ev, total, by_agency, case, params, controlled_count(ev.starts_not_in_cohort)
    )
