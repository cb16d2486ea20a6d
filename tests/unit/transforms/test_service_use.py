"""Spec tests on hand-written records: the service-use table counts each partner's events per
person, month and event type, only for linked people, with event types declared once."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from schemas.registry import partner, partner_names
from schemas.service_use import COLUMN_NAMES
from transforms import service_use
from transforms.dataflow import data_flow_map
from transforms.service_use import service_use_table, use_events, use_rules

D = dt.date


def _staged():
    crimes = pl.DataFrame(
        {
            "record_key": ["c1", "c2", "c3", "c4"],
            "role": ["suspect", "victim", "suspect", None],
            "event_date": [D(2026, 1, 3), D(2026, 1, 28), D(2026, 2, 1), D(2026, 1, 5)],
        }
    )
    homeless = pl.DataFrame(
        {
            "record_key": ["h1", "h2"],
            "duty_type": ["relief", "main"],
            "decision_date": [D(2026, 1, 9), None],  # an undated event counts nowhere
        }
    )
    return {("police", "crimes"): crimes.lazy(), ("council", "homelessness_cases"): homeless.lazy()}


def _links(keys_to_person: dict[str, str]) -> pl.LazyFrame:
    return pl.DataFrame(
        {"record_key": list(keys_to_person), "person_id": list(keys_to_person.values())},
        schema={"record_key": pl.String, "person_id": pl.String},
    ).lazy()


def test_counts_per_person_month_and_event_type_exact():
    links = _links({"c1": "p1", "c2": "p1", "c3": "p1", "h1": "p1", "c4": "p2", "h2": "p2"})
    table = service_use_table(use_events(_staged()), links).collect()
    assert table.columns == list(COLUMN_NAMES)
    assert table.rows() == [
        ("p1", D(2026, 1, 1), "crime_suspect", 1),
        ("p1", D(2026, 1, 1), "crime_victim", 1),
        ("p1", D(2026, 1, 1), "homelessness_relief", 1),
        ("p1", D(2026, 2, 1), "crime_suspect", 1),
    ]  # p2: a crime with no role and an undated decision are no events


def test_a_record_without_a_link_is_counted_nowhere():
    """A person removed by the opt-out or an objection has no links: none of their events."""
    table = service_use_table(use_events(_staged()), _links({"c1": "p1"})).collect()
    assert table.rows() == [("p1", D(2026, 1, 1), "crime_suspect", 1)]


def test_no_staged_data_gives_an_empty_table_of_the_contract_shape():
    table = service_use_table(use_events({}), _links({})).collect()
    assert table.is_empty() and table.columns == list(COLUMN_NAMES)


def test_every_rule_names_its_partners_extract_and_contract_columns():
    rules = use_rules()
    assert {r.partner for r in rules} == set(partner_names())  # every partner contributes
    for rule in rules:
        ex = partner(rule.partner).extract(rule.extract)
        assert set(rule.columns) <= set(ex.column_names), rule.event_type


def test_an_event_type_declared_twice_is_refused(monkeypatch):
    rule = use_rules()[0]
    twice = (rule, service_use.UseRule(rule.event_type, "x", pl.lit(True), "again", "other"))
    monkeypatch.setattr(service_use, "partner_names", lambda: ("a",))
    monkeypatch.setattr(service_use, "partner_use_rules", lambda name: twice)
    with pytest.raises(ValueError, match="declared by"):
        use_rules()


def test_event_date_and_condition_columns_reach_the_service_use_table_in_the_flow_map():
    from governance.policy import check_all

    flows = {(f.partner, f.extract, f.column): f for f in data_flow_map(check_all()[0])}
    role = flows[("police", "crimes", "role")]
    assert "service_use.event_type" in role.published
    assert "service_use.month" in flows[("police", "crimes", "event_date")].published
