"""The guidance's shape on hand-made figures: gross less deadweight, optimism bias by grade,
cashable split and Green Book discounting, exact; parameters declared, versioned, checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.business_case import (
    ParameterError,
    agency_case,
    load_parameters,
    present_value,
)

SHIPPED = Path(__file__).parents[3] / "flows" / "parameters" / "business_case.yaml"


@pytest.fixture
def params():
    return load_parameters(SHIPPED)


def test_the_shipped_defaults_are_the_guidances_shape(params):
    assert params.discount_rate == 0.035  # Green Book
    assert params.optimism_bias_share == 0.10  # grade 3
    shown = {name for name, _value, _source in params.rows()}
    assert {"discount_rate", "horizon_years", "optimism_bias_applied"} <= shown
    assert all(source for name, _v, source in params.rows() if name != "optimism_bias_applied")


def test_one_agency_line_exact(params):
    line = agency_case(
        "Health", naive=-100, did=-40, ci=(-60, -20), cashable=0.25, people=10, p=params
    )
    assert line["gross_per_person_year"] == 1200  # the before/after's fall
    assert line["net_per_person_year"] == 480  # less the comparison's fall
    assert line["deadweight_per_person_year"] == 720
    assert line["net_ci_per_person_year"] == [240, 720]
    assert line["net_after_optimism_bias_per_person_year"] == 432  # 10% off
    assert (line["cashable_per_person_year"], line["non_cashable_per_person_year"]) == (108, 324)
    discount = sum(1 / 1.035**t for t in range(5))  # years 0..4, year 0 undiscounted
    assert line["present_value"] == round(4320 * discount, -2)
    assert present_value(1000, params) == pytest.approx(1000 * discount)


def test_a_rise_in_cost_is_not_shrunk_by_optimism_bias(params):
    line = agency_case("Health", naive=10, did=20, ci=(5, 35), cashable=0.0, people=5, p=params)
    assert line["net_per_person_year"] == -240
    assert line["net_after_optimism_bias_per_person_year"] == -240


def test_a_changed_assumption_changes_the_version_and_a_bad_grade_is_refused(tmp_path, params):
    other = tmp_path / "p.yaml"
    other.write_text(SHIPPED.read_text().replace("horizon_years: 5", "horizon_years: 10"))
    assert load_parameters(other).version != params.version
    other.write_text(SHIPPED.read_text().replace("confidence_grade: 3", "confidence_grade: 9"))
    with pytest.raises(ParameterError, match="confidence_grade 9"):
        load_parameters(other)
    other.write_text(SHIPPED.read_text().replace("discount_rate: 0.035", "discount_rate: -1"))
    with pytest.raises(ParameterError, match="discount_rate"):
        load_parameters(other)
