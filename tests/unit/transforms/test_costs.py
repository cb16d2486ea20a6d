"""Spec tests on hand-written people: costs per person and agency exact, the price-base uplift
exact, an uncosted event type reported (never priced at zero)."""

from __future__ import annotations

import datetime as dt
import textwrap

import polars as pl
import pytest

from transforms.costs import CostTableError, cost_use, distribution, load_unit_costs

COSTS = textwrap.dedent(
    """
    name: hand-made
    illustrative: true
    deflators: {2019: 90.0, 2022: 100.0, 2024: 110.0}
    costs:
      - {event_type: ae_attendance, agency: NHS, unit_cost: 200, source: hand, year: 2022,
         price_base: 2022}
      - {event_type: arrest, agency: Police, unit_cost: 900, source: hand, year: 2019,
         price_base: 2019}
      - {event_type: homelessness_decision, agency: Council, unit_cost: 2500, source: hand,
         year: 2024, price_base: 2024}
    """
)


def _use(rows):
    return pl.DataFrame(
        rows,
        schema={
            "person_id": pl.String,
            "month": pl.Date,
            "event_type": pl.String,
            "events": pl.Int64,
        },
        orient="row",
    )


@pytest.fixture
def costs(tmp_path):
    path = tmp_path / "costs.yaml"
    path.write_text(COSTS)
    return load_unit_costs(path)


def test_cost_per_person_and_agency_in_one_price_year_exact(costs):
    use = _use(
        [
            ("ann", dt.date(2024, 1, 1), "ae_attendance", 3),
            ("ann", dt.date(2024, 5, 1), "arrest", 1),
            ("bob", dt.date(2024, 2, 1), "homelessness_decision", 1),
            ("bob", dt.date(2025, 3, 1), "ae_attendance", 1),
        ]
    )
    costed = cost_use(use, costs, price_year=2024)
    got = {(p, a, y): round(c, 6) for p, a, y, c in costed.per_person.iter_rows()}
    assert got == {
        ("ann", "NHS", 2024): round(3 * 200 * 110 / 100, 6),  # 660
        ("ann", "Police", 2024): round(900 * 110 / 90, 6),  # 1100
        ("bob", "Council", 2024): 2500.0,  # already in 2024 prices
        ("bob", "NHS", 2025): 220.0,
    }
    assert costed.uncosted.is_empty() and costed.illustrative


def test_uplift_between_price_bases_exact(costs):
    prices = dict(costs.in_prices_of(2019).select("event_type", "unit_cost").iter_rows())
    assert prices["arrest"] == 900.0
    assert prices["ae_attendance"] == pytest.approx(200 * 90 / 100)
    assert prices["homelessness_decision"] == pytest.approx(2500 * 90 / 110)


def test_an_uncosted_event_type_is_reported_never_zero(costs):
    use = _use(
        [
            ("ann", dt.date(2024, 1, 1), "ae_attendance", 1),
            ("ann", dt.date(2024, 1, 1), "probation_appointment", 4),
        ]
    )
    costed = cost_use(use, costs, price_year=2022)
    assert costed.uncosted.to_dicts() == [{"event_type": "probation_appointment", "events": 4}]
    assert costed.per_person["cost"].to_list() == [200.0]  # only what has a cost


def test_a_missing_deflator_and_a_bad_row_are_clear_errors(costs, tmp_path):
    with pytest.raises(CostTableError, match="no deflator for year"):
        costs.in_prices_of(2030)
    bad = tmp_path / "bad.yaml"
    bad.write_text(COSTS.replace("unit_cost: 900", "unit_cost: -1"))
    with pytest.raises(CostTableError, match=r"costs\[1\].unit_cost"):
        load_unit_costs(bad)


def test_the_version_changes_with_any_definition(costs, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(COSTS.replace("2019: 90.0", "2019: 91.0"))
    assert load_unit_costs(other).version != costs.version


def test_distribution_median_quartiles_and_the_costliest_tenth():
    per_person = pl.DataFrame(
        {"person_id": [f"p{i}" for i in range(10)], "cost": [float(i + 1) for i in range(10)]}
    )
    d = distribution(per_person)
    assert d["median"] == 5.5 and d["people"] == 10
    assert d["share_costliest_tenth"] == pytest.approx(10 / 55)
