"""flows.cohort_build.records_frame: the build's one frame of records, in record-key order."""

from __future__ import annotations

import random

import polars as pl

from flows.cohort_build import RECORD_COLUMNS, records_frame
from governance.pseudonymise import TOKEN_CODE
from schemas.registry import partner_extracts
from transforms.link import TOKEN_COLUMNS, token_dtype


def _staged(seed: int) -> dict[tuple[str, str], pl.DataFrame]:
    rng = random.Random(seed)
    out = {}
    for n, ex in enumerate(partner_extracts()[:3]):
        keys = [f"{rng.getrandbits(64):016x}" for _ in range(50)]
        out[(ex.partner, ex.name)] = pl.DataFrame(
            {
                "record_key": keys,
                "partner": [ex.partner] * 50,
                "extract": [ex.name] * 50,
                "record_ref": [f"r{n}-{i}" for i in range(50)],
                ex.event_date: [f"2026-10-{1 + i % 28:02d}" for i in range(50)],
                "outcome": ["x"] * 50,  # an event column, not a record column
                TOKEN_COLUMNS[0]: [f"{rng.getrandbits(128):032x}" for _ in range(50)],
                TOKEN_COLUMNS[1]: [f"{rng.getrandbits(128):032x}" for _ in range(50)],
            }
        )
    # as in a night, one extract has a token the others lack (its agreement pseudonymises more)
    (k, first), *_ = out.items()
    out[k] = first.with_columns(
        pl.Series(TOKEN_COLUMNS[2], [f"{rng.getrandbits(128):032x}" for _ in range(50)])
    )
    return out


def test_records_come_in_record_key_order_whatever_order_they_arrive_in():
    staged = _staged(1)
    records = records_frame(staged)
    assert records["record_key"].to_list() == sorted(records["record_key"].to_list())
    assert records.columns == [*RECORD_COLUMNS, *TOKEN_COLUMNS]
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=3) for k, v in staged.items()}
    assert records_frame(shuffled).equals(records)
    # each record keeps its own tokens, as the integers their hex spells: the rows moved whole
    joined = pl.concat(list(staged.values()), how="diagonal_relaxed").select(
        "record_key", TOKEN_COLUMNS[0]
    )
    back = records.select("record_key", TOKEN_COLUMNS[0]).join(joined, on="record_key")
    assert back.height == 150 and back[TOKEN_COLUMNS[0]].dtype == TOKEN_CODE
    assert back[TOKEN_COLUMNS[0]].to_list() == [
        int(t, 16) for t in back[f"{TOKEN_COLUMNS[0]}_right"]
    ]
    # a column no staged extract has comes as nulls of the type the linker holds it in
    assert (
        records[TOKEN_COLUMNS[2]].null_count() == 100
        and records[TOKEN_COLUMNS[2]].dtype == TOKEN_CODE
    )
    absent = next(c for c in TOKEN_COLUMNS if c not in TOKEN_COLUMNS[:3])
    assert records[absent].dtype == token_dtype(absent) and records[absent].null_count() == 150


def test_taking_the_tokens_leaves_staged_its_event_columns_and_no_tokens():
    staged, kept = _staged(2), _staged(2)
    taken = records_frame(staged, take_tokens=True)
    assert taken.equals(records_frame(kept))
    for k, frame in staged.items():
        assert not set(frame.columns) & set(TOKEN_COLUMNS)
        assert frame.columns == [c for c in kept[k].columns if c not in TOKEN_COLUMNS]
        assert frame.equals(kept[k].drop(TOKEN_COLUMNS[:3], strict=False))
    assert all(TOKEN_COLUMNS[0] in f.columns for f in kept.values())  # the default copies
