import datetime as dt

import polars as pl

from schemas.cohort import COLUMN_NAMES
from transforms.cohort import cohort_table
from transforms.framework import load
from transforms.needs import need_events

RUN = dt.date(2026, 11, 1)
D = dt.date


def _staged():
    crimes = pl.DataFrame(
        {
            "record_key": ["c1", "c2", "c3"],
            "role": ["suspect", "victim", "offender"],
            "domestic_abuse": [False, True, False],
            "event_date": [D(2026, 10, 1), D(2026, 9, 1), D(2025, 10, 31)],  # c3: day before window
        }
    )
    uc = pl.DataFrame(
        {"record_key": ["u1"], "regime": ["no_work_requirements"], "claim_start": [RUN]}
    )
    return {("police", "crimes"): crimes.lazy(), ("dwp", "uc_claims"): uc.lazy()}


def _records():
    return pl.DataFrame(
        {
            "record_key": ["c1", "c2", "c3", "u1"],
            "partner": ["police"] * 3 + ["dwp"],
            "event_date": [D(2026, 10, 1), D(2026, 9, 1), D(2025, 10, 31), RUN],
            "age_band": ["25-34", "25-34", "35-44", "25-34"],
            "postcode_district": ["LS1", "LS2", "LS3", "LS6"],
        }
    ).lazy()


def _links(same_person: bool):
    ids = ["p1", "p1", "p2", "p1" if same_person else "p3"]
    return pl.DataFrame(
        {
            "record_key": ["c1", "c2", "c3", "u1"],
            "person_id": ids,
            "link_rank": [2, 2, None, 2 if same_person else None],
        }
    ).lazy()


def test_events_inside_the_lookback_only_and_both_window_ends_count():
    rules = load().rules()
    events = need_events(_staged(), RUN, rules).collect()
    assert sorted(events["record_key"]) == ["c1", "c2", "u1"]
    assert need_events(_staged(), RUN, load().rules(lookback_days=366)).collect().height == 4


def test_cohort_flags_counts_and_threshold():
    cohort = cohort_table(
        _records(), _links(True), need_events(_staged(), RUN, load().rules()), 2
    ).collect()
    assert cohort.columns == list(COLUMN_NAMES)
    p1 = cohort.filter(pl.col("person_id") == "p1").row(0, named=True)
    assert (p1["need_offending"], p1["need_domestic_abuse"], p1["need_worklessness"]) == (
        True,
        True,
        True,
    )
    assert p1["need_count"] == 3 and p1["mcn_flag"] and p1["n_partners"] == 2
    assert p1["partners"] == "dwp,police" and p1["postcode_district"] == "LS6"
    p2 = cohort.filter(pl.col("person_id") == "p2").row(0, named=True)
    assert p2["need_count"] == 0 and not p2["mcn_flag"]


def test_a_missed_link_splits_needs_across_two_people():
    cohort = cohort_table(
        _records(), _links(False), need_events(_staged(), RUN, load().rules()), 3
    ).collect()
    assert cohort.height == 3 and cohort["mcn_flag"].sum() == 0
