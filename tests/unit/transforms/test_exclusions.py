"""transforms.exclusions.exclude_persons: a listed record takes its whole person out."""

from __future__ import annotations

import polars as pl

from transforms.exclusions import exclude_persons

LINKS = pl.DataFrame(
    {"record_key": ["a1", "a2", "b1", "c1", "c2"], "person_id": ["A", "A", "B", "C", "C"]}
)
PAIRS = pl.DataFrame(
    {
        "record_key_l": ["a1", "c1", "a2"],
        "record_key_r": ["a2", "c2", "b1"],  # a2-b1: a pair across persons (not kept, but safe)
        "rule": ["mk1", "fs", "fs"],
    }
)


def test_a_listed_record_removes_its_person_and_every_pair_touching_them():
    out = exclude_persons(LINKS, PAIRS, pl.Series(["a2", "zz"]))
    assert sorted(out.links["record_key"].to_list()) == ["b1", "c1", "c2"]
    assert out.pairs.rows() == [("c1", "c2", "fs")]
    assert (out.persons, out.records) == (1, 2)


def test_nobody_listed_leaves_the_outputs_as_they_are():
    out = exclude_persons(LINKS, PAIRS, pl.Series("record_key", [], dtype=pl.String))
    assert out.links is LINKS and out.pairs is PAIRS and (out.persons, out.records) == (0, 0)


def test_listed_tokens_find_records_holding_them_as_text_or_as_codes():
    from transforms.exclusions import listed_records
    from transforms.link import as_codes

    tokens = [f"{i:032x}" for i in (7, 2**127 + 5, 11)]
    records = pl.DataFrame({"record_key": ["a", "b", "c"], "tok_nhs": tokens})
    listed = pl.Series([tokens[1], "not a token", f"{2**127 + 6:032x}"])
    for frame in (records, as_codes(records)):
        assert listed_records(frame, "tok_nhs", listed).to_list() == ["b"]
