"""Needs frameworks, `assure`-style: small hand-written people in (as text tables of staged
partner rows), the flags each framework should give out. Also: the version follows the
content, and a framework that does not fit the contracts is refused with file and key."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from governance.errors import SettingsError
from schemas.cohort import DEFAULT_LOOKBACK_DAYS, NEEDS
from schemas.registry import all_extracts
from transforms import framework
from transforms.cohort import cohort_table
from transforms.needs import all_events, need_events

RUN = dt.date(2026, 11, 1)

# One staged row a line: who, which extract, its columns (true/false or text), how many days
# before the run date it happened.
PEOPLE = """
person | extract              | values                                                 | days_ago
ann    | homelessness_cases   | reason=eviction                                        | 30
ann    | crimes               | role=suspect domestic_abuse=false anti_social_behaviour=false | 100
bob    | treatment_episodes   |                                                        | 10
bob    | mh_referrals         |                                                        | 20
bob    | supervision_episodes | need_accommodation=false need_drugs=false need_alcohol=false | 500
cat    | crimes               | role=victim domestic_abuse=true anti_social_behaviour=false | 50
cat    | homelessness_cases   | reason=domestic_abuse                                  | 60
cat    | social_care_contacts | contact_reason=mental_health_support                   | 70
dan    | crimes               | role=suspect domestic_abuse=true anti_social_behaviour=true | 40
eve    | uc_claims            | regime=intensive_work_search                           | 5
eve    | ae_attendances       | self_harm=true alcohol_related=false drug_related=false | 400
fay    | ae_attendances       | self_harm=true alcohol_related=true drug_related=false | 365
gus    | uc_claims            | regime=working_enough                                  | 5
gus    | social_care_contacts | contact_reason=substance_misuse_support                | 366
"""

# The needs flagged and whether the person is in the framework's cohort.
EXPECTED = """
person | framework           | needs                                         | cohort
ann    | mcn-default         | homelessness offending                        | yes
ann    | changing-futures    | homelessness offending                        | no
ann    | fulfilling-lives    | homelessness offending                        | no
ann    | supporting-families | homelessness offending                        | yes
bob    | mcn-default         | substance_misuse mental_health                | yes
bob    | changing-futures    | substance_misuse mental_health                | no
bob    | fulfilling-lives    | offending substance_misuse mental_health      | yes
bob    | supporting-families | substance_misuse mental_health                | yes
cat    | mcn-default         | homelessness mental_health domestic_abuse     | yes
cat    | changing-futures    | homelessness mental_health domestic_abuse     | yes
cat    | fulfilling-lives    | homelessness mental_health                    | no
cat    | supporting-families | homelessness mental_health domestic_abuse     | yes
dan    | mcn-default         | offending                                     | no
dan    | changing-futures    | offending                                     | no
dan    | fulfilling-lives    | offending                                     | no
dan    | supporting-families | offending domestic_abuse                      | yes
eve    | mcn-default         | worklessness                                  | no
eve    | changing-futures    |                                               | no
eve    | supporting-families | worklessness                                  | no
fay    | mcn-default         | substance_misuse mental_health                | yes
fay    | changing-futures    | substance_misuse mental_health                | no
gus    | mcn-default         |                                               | no
"""


def _table(text: str) -> list[dict[str, str]]:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    head = [h.strip() for h in lines[0].split("|")]
    return [dict(zip(head, (c.strip() for c in ln.split("|")), strict=True)) for ln in lines[1:]]


def _value(text: str) -> object:
    return {"true": True, "false": False}.get(text, text)


def staged_people(text: str):
    """The text table as staged frames by (partner, extract), records and true links."""
    extracts = {ex.name: ex for ex in all_extracts()}
    rows: dict[tuple[str, str], list[dict]] = {}
    records, links = [], []
    for i, row in enumerate(_table(text)):
        ex = extracts[row["extract"]]
        when = RUN - dt.timedelta(days=int(row["days_ago"]))
        values = dict(kv.split("=", 1) for kv in row["values"].split())
        key = f"r{i}"
        rows.setdefault((ex.partner, ex.name), []).append(
            {"record_key": key, ex.event_date: when, **{k: _value(v) for k, v in values.items()}}
        )
        records.append({"record_key": key, "partner": ex.partner, "event_date": when})
        links.append({"record_key": key, "person_id": row["person"], "link_rank": None})
    staged = {k: pl.DataFrame(v).lazy() for k, v in rows.items()}
    recs = pl.DataFrame(records).with_columns(
        age_band=pl.lit("25-34"), postcode_district=pl.lit("LS1")
    )
    return staged, recs.lazy(), pl.DataFrame(links).lazy()


def cohort_of(name: str) -> pl.DataFrame:
    fw = framework.load(name)
    staged, records, links = staged_people(PEOPLE)
    events = need_events(staged, RUN, fw.rules())
    return cohort_table(records, links, events, fw.threshold).collect()


@pytest.mark.parametrize("name", framework.shipped())
def test_each_framework_flags_the_hand_written_people_as_expected(name):
    got = {r["person_id"]: r for r in cohort_of(name).iter_rows(named=True)}
    expected = [r for r in _table(EXPECTED) if r["framework"] == name]
    assert expected, f"no expectations written for {name}"
    for row in expected:
        person = got[row["person"]]
        flagged = {n for n in NEEDS if person[f"need_{n}"]}
        assert flagged == set(row["needs"].split()), (name, row["person"])
        assert person["need_count"] == len(flagged)
        assert person["mcn_flag"] == (row["cohort"] == "yes"), (name, row["person"])


def test_two_frameworks_give_two_different_cohorts_on_the_same_data():
    cohorts = {n: set(cohort_of(n).filter("mcn_flag")["person_id"]) for n in framework.shipped()}
    assert cohorts["mcn-default"] == {"ann", "bob", "cat", "fay"}
    assert cohorts["changing-futures"] == {"cat"}
    assert cohorts["fulfilling-lives"] == {"bob"}
    assert len({frozenset(c) for c in cohorts.values()}) == len(cohorts)


def test_mcn_default_keeps_the_usual_lookback_and_uses_every_need_domain():
    fw = framework.load(framework.DEFAULT_FRAMEWORK)
    assert fw.lookback_days == DEFAULT_LOOKBACK_DAYS and set(fw.domains) == set(NEEDS)


def test_a_lookback_override_applies_to_every_need():
    fw = framework.load("fulfilling-lives")
    assert {r.lookback_days for r in fw.rules()} == {365, 730}
    assert {r.lookback_days for r in fw.rules(lookback_days=30)} == {30}


def test_the_version_changes_when_the_file_or_an_event_it_uses_changes():
    path = framework.framework_path("changing-futures")
    text = path.read_text()
    where = str(path)
    base, _ = framework.parse(text, where)
    assert base is not None and base.version.startswith("changing-futures@")
    same, _ = framework.parse(text + "\n# a comment\n", where)
    assert same is not None and same.version == base.version  # content, not bytes
    lookback, _ = framework.parse(text.replace("lookback_days: 365", "lookback_days: 366"), where)
    assert lookback is not None and lookback.version != base.version
    events = all_events()
    events["ae_self_harm"] = (
        dataclasses.replace(
            events["ae_self_harm"][0], condition=pl.col("self_harm") & pl.col("drug_related")
        ),
    )
    changed, _ = framework.parse(text, where, events)
    assert changed is not None and changed.version != base.version
    # an event the framework does not use leaves its version alone
    events = all_events()
    events["out_of_work_benefit_claim"] = (
        dataclasses.replace(events["out_of_work_benefit_claim"][0], description="changed"),
    )
    unused, _ = framework.parse(text, where, events)
    assert unused is not None and unused.version == base.version


def test_every_problem_of_a_framework_is_reported_with_its_key():
    text = """
name: broken
title: Broken
source: a test
description: a framework with mistakes
threshold: 4
lookback_days: 0
needs:
  homelessness: {label: Homeless, events: [homelessness_case, no_such_event]}
  gambling: {label: Gambling, events: [homelessness_case]}
"""
    fw, problems = framework.parse(text, "transforms/frameworks/broken.yaml")
    assert fw is None
    found = {(p.key, p.code) for p in problems}
    assert found == {
        ("lookback_days", "SET007"),
        ("needs.homelessness.events[1]", "SET005"),
        ("needs.gambling", "SET001"),
        ("threshold", "SET006"),
    }


def test_an_unknown_framework_is_refused_naming_the_ones_there_are():
    with pytest.raises(SettingsError) as err:
        framework.load("no-such-framework")
    assert "SET009" in str(err.value) and "changing-futures" in str(err.value)
