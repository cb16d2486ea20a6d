"""The intervention list under its own agreement, and the impact estimate from it: hand-made
people, disclosure control of what leaves."""

from __future__ import annotations

import datetime as dt
import textwrap

import polars as pl
import pytest

from flows.checks import staged_schema
from flows.evaluation import INTERVENTIONS, evaluate, matching_people, monthly_panel
from governance.policy import load_approved
from schemas.registry import agreement_names, partner, partner_names
from transforms.costs import load_unit_costs
from transforms.impact import Impact, ImpactSettings
from transforms.impact_output import IMPACT_MIN_PEOPLE, controlled_impact
from transforms.leaks import leak_counts

D = dt.date
LIST = partner(INTERVENTIONS).extracts[0]


def test_the_list_has_its_own_signed_agreement_and_is_never_a_partner():
    policy, approval = load_approved(INTERVENTIONS)  # checked and signature verified
    assert len(approval.signers) == 2  # both parties signed
    assert INTERVENTIONS in agreement_names() and INTERVENTIONS not in partner_names()
    staged = staged_schema(LIST, policy)
    assert "caseworker_notes" not in staged  # free text is dropped
    assert {"person_id", "start_date", "record_key"} <= set(staged)


def test_the_leak_scan_works_on_an_extract_without_identity_columns():
    raw = pl.DataFrame({"record_ref": ["IS-1"], "person_id": ["p-1"], "start_date": ["x"]})
    assert leak_counts(raw.select("person_id"), raw, LIST) == {"person_id": 0}


@pytest.fixture
def costs(tmp_path):
    path = tmp_path / "costs.yaml"
    path.write_text(
        textwrap.dedent(
            """
            name: hand-made
            deflators: {2025: 100.0}
            costs:
              - {event_type: ae_attendance, agency: Health, unit_cost: 100, source: hand,
                 year: 2025, price_base: 2025}
              - {event_type: crime_suspect, agency: Policing, unit_cost: 1000, source: hand,
                 year: 2025, price_base: 2025}
            """
        )
    )
    return load_unit_costs(path)


def _use(rows):
    return pl.DataFrame(
        rows, schema=["person_id", "month", "event_type", "events"], orient="row"
    ).with_columns(pl.col("events").cast(pl.Int64))


def test_monthly_panel_prices_each_month_exactly_and_per_agency(costs):
    use = _use(
        [
            ("a", D(2025, 1, 1), "ae_attendance", 2),
            ("a", D(2025, 1, 1), "crime_suspect", 1),
            ("b", D(2025, 6, 1), "ae_attendance", 1),
        ]
    )
    prices = costs.in_prices_of(2025)
    panel = monthly_panel(use, prices, None).filter(pl.col("person_id") != "")
    total = {(p, m): v for p, m, v in panel.iter_rows()}
    assert total == {("a", D(2025, 1, 1)): 1200.0, ("b", D(2025, 6, 1)): 100.0}
    health = monthly_panel(use, prices, "Health")
    # every agency's panel spans the months of the whole table
    assert (health["month"].min(), health["month"].max()) == (D(2025, 1, 1), D(2025, 6, 1))
    assert health.filter(pl.col("person_id") == "a")["value"].to_list() == [200.0]


def _cohort(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [f"p{i:03d}" for i in range(n)],
            "age_band": ["25-34"] * n,
            "postcode_district": ["LS6"] * n,
        }
    )


def test_evaluate_counts_starts_of_people_not_in_the_cohort_and_estimates_per_agency(costs):
    cohort = _cohort(40)
    rows = [
        (pid, D(2025, m, 1), "ae_attendance", 1 + (i + m) % 3)
        for i, pid in enumerate(cohort["person_id"])
        for m in range(1, 13)
    ]
    starts = pl.DataFrame(
        {"person_id": ["p000", "p001", "p002", "gone"], "start": [D(2025, 7, 10)] * 4}
    )
    settings = ImpactSettings(match_on=("age_band", "area"), bootstrap=50)
    ev = evaluate(cohort, _use(rows), starts, costs, 2025, settings)
    assert (ev.starts_listed, ev.starts_not_in_cohort) == (4, 1)
    assert ev.total.supported == 3 and ev.total.matched == 3
    assert set(ev.by_agency) == {"Health", "Policing"}
    assert ev.by_agency["Policing"].did == 0.0  # no one used it: no change either way
    assert matching_people(cohort)["area"].to_list()[0] == "LS"


def _impact(matched: int, supported: int) -> Impact:
    return Impact(
        naive_change=-150.4,
        did=12.6,
        ci_low=-40.2,
        ci_high=60.7,
        supported=supported,
        matched=matched,
        unmatched=supported - matched,
        comparison_people=3 * matched,
        balance=[
            {
                "variable": "age_band = 18-24",
                "mean_supported": 2 / matched,
                "mean_comparison": 0.5,
                "smd": 0.1,
            },
            {
                "variable": "prior use: baseline months",
                "mean_supported": 300.0,
                "mean_comparison": 290.0,
                "smd": 0.05,
            },
        ],
    )


def test_small_counts_are_hidden_and_the_estimate_rounded_never_the_naive_alone():
    out = controlled_impact(_impact(matched=40, supported=43))
    assert (out["supported"], out["matched"], out["unmatched"]) == (45, 40, None)
    assert out["did_per_person_month"] == 13 and out["ci"] == [-40, 61]
    assert out["includes_zero"] is True
    assert "not an effect" in out["naive_warning"]
    age, prior = out["balance"]
    assert age["mean_supported"] is None  # two people aged 18-24: a small count
    assert prior["mean_supported"] == 300.0


def test_the_estimate_is_withheld_over_too_few_matched_people():
    out = controlled_impact(_impact(matched=IMPACT_MIN_PEOPLE - 1, supported=30))
    assert "withheld" in out["did_per_person_month"]
    assert "naive_before_after_per_person_month" not in out


def test_the_same_inputs_give_the_same_interval(costs):
    cohort = _cohort(40)
    rows = [
        (pid, D(2025, m, 1), "ae_attendance", 1 + (i * m) % 4)
        for i, pid in enumerate(cohort["person_id"])
        for m in range(1, 13)
    ]
    starts = pl.DataFrame({"person_id": ["p000", "p005", "p009"], "start": [D(2025, 7, 1)] * 3})
    settings = ImpactSettings(match_on=("age_band", "area"), bootstrap=50)
    runs = [evaluate(cohort, _use(rows), starts, costs, 2025, settings).total for _ in range(3)]
    assert len({(r.did, r.ci_low, r.ci_high) for r in runs}) == 1


def test_the_lists_agreement_is_checked_only_where_a_partnership_keeps_one(tmp_path):
    import shutil

    from governance.policy import POLICY_DIR, agreements_in

    assert agreements_in() == [*partner_names(), INTERVENTIONS]
    own = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, own)
    (own / f"{INTERVENTIONS}.yaml").unlink()
    assert agreements_in(own) == list(partner_names())  # no list kept: no missing-file problem
