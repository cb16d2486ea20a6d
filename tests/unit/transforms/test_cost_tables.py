"""Spec tests on hand-written people: cost tables by need combination, framework and agency,
exact where published, and hidden where a count is small or one person dominates a cell."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from governance.disclosure import TOTAL
from schemas.cohort import NEEDS
from transforms.cost_tables import (
    FRAMEWORK_IN,
    FRAMEWORK_OUT,
    agency_table,
    partition_table,
    person_year_costs,
)
from transforms.costs import load_unit_costs
from transforms.service_use import event_types

ILLUSTRATIVE = Path(__file__).parents[3] / "flows" / "unit_costs" / "illustrative.yaml"


def _cohort(groups: dict[tuple[str, ...], int]) -> pl.DataFrame:
    """People with the given need sets: {("offending", "homelessness"): 12, ...}."""
    rows = []
    for needs, n in groups.items():
        for i in range(n):
            flags = {f"need_{d}": d in needs for d in NEEDS}
            pid = f"{'-'.join(needs) or 'none'}-{i}"
            rows.append({"person_id": pid, **flags, "mcn_flag": len(needs) >= 2})
    return pl.DataFrame(rows)


def _costs(cohort: pl.DataFrame, each: float, agency: str = "Health", year: int = 2025):
    return cohort.select(
        "person_id",
        pl.lit(agency).alias("agency"),
        pl.lit(year).alias("year"),
        pl.lit(each).alias("cost"),
    )


def test_by_need_combination_exact_and_a_small_group_hidden_with_its_complement():
    cohort = _cohort(
        {
            ("homelessness", "offending"): 40,
            ("mental_health",): 30,
            ("mental_health", "offending"): 25,
            ("offending",): 3,
        }
    )
    people = person_year_costs(_costs(cohort, 1000.0), cohort, 2025)
    table = partition_table(people, "need_combination", 2025)
    got = {r["need_combination"]: r for r in table.published.iter_rows(named=True)}
    assert got["homelessness+offending"] == {
        "need_combination": "homelessness+offending",
        "people": 40,
        "total_cost": 40_000,
        "cost_per_person": 1000,
    }
    assert got["offending"]["total_cost"] is None and got["offending"]["people"] is None
    # the total less the others would show the small one: the next smallest is hidden too
    assert got["offending+mental_health"]["total_cost"] is None
    assert got["mental_health"]["cost_per_person"] == 1000
    assert table.hidden_small >= 1


def test_costs_outside_the_year_do_not_count_and_people_without_use_cost_zero():
    cohort = _cohort({("mental_health", "offending"): 10, (): 10})
    spend = pl.concat([_costs(cohort.head(10), 500.0), _costs(cohort.head(10), 9999.0, year=2024)])
    people = person_year_costs(spend, cohort, 2025)
    table = partition_table(people, "framework", 2025)
    got = {r["framework"]: r for r in table.published.iter_rows(named=True)}
    assert got[FRAMEWORK_IN]["cost_per_person"] == 500
    assert got[FRAMEWORK_OUT]["total_cost"] == 0
    assert got[TOTAL]["cost_per_person"] == 250  # over all twenty people


def test_a_cell_one_person_dominates_is_hidden():
    cohort = _cohort({("offending", "homelessness"): 20, ("mental_health", "offending"): 20})
    spend = _costs(cohort, 10.0).with_columns(
        pl.when(pl.col("person_id") == "offending-homelessness-0")
        .then(100_000.0)
        .otherwise(pl.col("cost"))
        .alias("cost")
    )
    table = partition_table(person_year_costs(spend, cohort, 2025), "need_combination", 2025)
    got = {r["need_combination"]: r for r in table.published.iter_rows(named=True)}
    assert got["homelessness+offending"]["total_cost"] is None  # one person's cost, nearly
    assert got["homelessness+offending"]["people"] == 20  # the count itself is safe
    assert got["offending+mental_health"]["total_cost"] is None  # its complement
    assert got[TOTAL]["total_cost"] is None  # the total is dominated by that person too
    assert table.hidden_dominance == 3


def test_by_agency_over_the_whole_population_and_a_rarely_used_agency_hidden():
    cohort = _cohort({("offending", "homelessness"): 40})
    spend = pl.concat(
        [
            _costs(cohort, 300.0, "Health"),
            _costs(cohort.head(20), 200.0, "Policing"),
            _costs(cohort.head(30), 1000.0, "Local authority"),
            _costs(cohort.head(3), 50.0, "Work and pensions"),
        ]
    )
    table = agency_table(spend, cohort["person_id"], 2025)
    got = {r["agency"]: r for r in table.published.iter_rows(named=True)}
    assert got["Health"]["cost_per_person"] == 300
    assert got["Local authority"]["cost_per_person"] == 750  # 30 x 1000 over 40 people
    assert got["Work and pensions"]["total_cost"] is None  # 3 people used it
    assert got["Policing"]["total_cost"] is None  # the smallest other: its complement
    assert got[TOTAL]["total_cost"] == round(40 * 300 + 20 * 200 + 30 * 1000 + 150, -3)


def test_the_illustrative_table_prices_every_event_type_and_says_it_is_illustrative():
    costs = load_unit_costs(ILLUSTRATIVE)
    assert costs.illustrative and "ILLUSTRATIVE" in costs.name
    assert set(costs.table["event_type"]) == set(event_types())
    assert all("ILLUSTRATIVE" in s for s in costs.table["source"])
    prices = costs.in_prices_of(2025)
    assert prices["cashable"].is_between(0, 1).all()
    assert prices.filter(pl.col("event_type") == "ae_attendance")["unit_cost"][0] == pytest.approx(
        160 * 110 / 90
    )


def test_the_distribution_is_rounded_and_withheld_for_few_people():
    from transforms.cost_tables import DISTRIBUTION_MIN_PEOPLE, controlled_distribution

    many = pl.DataFrame(
        {"person_id": [f"p{i}" for i in range(100)], "cost": [float(i * 10) for i in range(100)]}
    )
    d = controlled_distribution(many)
    assert (d["people"], d["median"], d["q1"]) == (100, 500, 250)
    assert d["share_costliest_tenth"] == round(sum(range(90, 100)) / sum(range(100)), 2)
    few = many.head(DISTRIBUTION_MIN_PEOPLE - 1)
    assert "withheld" in controlled_distribution(few)
