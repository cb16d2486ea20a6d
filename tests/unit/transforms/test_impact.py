"""What changed after support: a before/after alone shows the regression to the mean that
follows a crisis peak; the matched difference in differences does not, and it recovers a known
injected reduction within its confidence interval."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from transforms.impact import ImpactSettings, estimate, matched_pairs

MONTHS = [dt.date(2025 + m // 12, m % 12 + 1, 1) for m in range(24)]


def scenario(effect: float, n: int = 20000, seed: int = 1):
    """Synthetic monthly service cost per person: a personal level, month-to-month noise and
    rare crises (six times the level for a month). Each person's services are looked at once,
    in a month between 7 and 17; someone at a crisis peak then (the top 3% of person-months)
    is supported from the next month with probability one half. With `effect`, the supported
    person's cost falls by that share from the start. Returns panel, people, supported."""
    rng = np.random.default_rng(seed)
    level = rng.gamma(0.8, 60.0, n)
    people = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "age_band": rng.choice(["18-24", "25-34", "35-49", "50+"], n),
            "sex": rng.choice(["F", "M"], n),
            "area": rng.choice(["A", "B", "C"], n),
        }
    )
    crisis = rng.random((n, len(MONTHS))) < 0.03
    value = rng.gamma(2.0, level[:, None] * np.where(crisis, 6.0, 1.0) / 2.0)
    peak = value >= np.quantile(value, 0.97)
    seen = rng.integers(6, 17, n)
    supported = {i: seen[i] + 1 for i in range(n) if peak[i, seen[i]] and rng.random() < 0.5}
    for i, start in supported.items():
        value[i, start:] *= 1 - effect
    ids, months = np.nonzero(value > 0.5)
    panel = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in ids],
            "month": [MONTHS[m] for m in months],
            "value": value[ids, months],
        }
    )
    starts = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in supported],
            "start": [MONTHS[s] for s in supported.values()],
        }
    )
    return panel, people, starts


SETTINGS = ImpactSettings(bootstrap=300)


@pytest.fixture(scope="module")
def worlds():
    return {effect: scenario(effect) for effect in (0.0, 0.3)}


def test_a_crisis_peak_with_no_effect_looks_like_a_saving_only_before_after(worlds):
    panel, people, supported = worlds[0.0]
    result = estimate(panel, people, supported, SETTINGS)
    assert result.supported > 200 and result.matched == result.supported
    assert result.naive_change < -20  # the before/after shows a large "saving"
    assert result.ci_high < 0 or result.naive_change < result.ci_low  # outside the honest range
    assert result.includes_zero(), (result.did, result.ci_low, result.ci_high)
    summary = result.summary()
    assert "regression to the mean" in summary["naive_warning"]
    assert {row["variable"] for row in summary["balance"]} >= {"prior use: baseline months"}


def test_a_known_reduction_is_recovered_within_the_interval(worlds):
    panel0, people, supported = worlds[0.0]
    panel3, _, _ = worlds[0.3]
    result = estimate(panel3, people, supported, SETTINGS)
    # the truth: how much less the supported people used after their start, world against world
    before, _ = matched_pairs(panel0, people, supported, SETTINGS)
    after, _ = matched_pairs(panel3, people, supported, SETTINGS)
    truth = (after.sort("person_id")["after"] - before.sort("person_id")["after"]).mean()
    assert truth < -30
    assert result.ci_low <= truth <= result.ci_high, (truth, result.ci_low, result.ci_high)
    assert not result.includes_zero()


def test_starts_whose_windows_run_past_the_data_are_left_out_and_counted(worlds):
    panel, people, supported = worlds[0.0]
    late = supported.with_columns(pl.lit(MONTHS[-2]).alias("start"))  # only 2 months after
    result = estimate(panel, people, late, SETTINGS)
    assert result.outside_observed == late.height and result.supported == 0
