"""Disclosure control: no published count between 1 and the threshold, every count a multiple of
the rounding base, and an attacker who knows the rules cannot recover a redacted cell from the
published totals, nor a small group from the difference with the last publication."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from governance.disclosure import (
    TOTAL,
    DisclosureError,
    DisclosureRules,
    control,
    differencing,
    require_no_differencing,
)

RULES = DisclosureRules()


def _table(counts: list[list[int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"area": f"a{i}", "need": f"n{j}", "count": c}
            for i, row in enumerate(counts)
            for j, c in enumerate(row)
        ],
        schema={"area": pl.String, "need": pl.String, "count": pl.Int64},
    )


def attack(published: pl.DataFrame, dims: list[str], rules: DisclosureRules, exact_totals=False):
    """What an attacker who knows the rules learns about each redacted cell: for every one, the
    least and greatest value consistent with everything published (a linear programme over
    the table's additivity, each published count within rounding of the truth, each redacted
    count >= 0). Returns {cell labels: (low, high)}. Written apart from the module under test.
    """
    rows = [r for r in published.iter_rows(named=True)]
    index = {tuple(r[d] for d in dims): k for k, r in enumerate(rows)}
    n = len(rows)
    half = 0 if exact_totals else rules.rounding // 2
    bounds = []
    for r in rows:
        v = r["count"]
        bounds.append((0, None) if v is None else (max(0, v - half), v + half))
    equalities = []
    if len(dims) == 2:
        row_labels = {k[0] for k in index}
        col_labels = {k[1] for k in index}
        for a in row_labels:  # each row (the totals row too): cells add up to its total
            cells = [index[(a, c)] for c in col_labels if c != TOTAL]
            equalities.append((cells, index[(a, TOTAL)]))
        for c in col_labels:  # each column (the totals column too)
            cells = [index[(a, c)] for a in row_labels if a != TOTAL]
            equalities.append((cells, index[(TOTAL, c)]))
    else:
        cells = [k for key, k in index.items() if key[0] != TOTAL]
        equalities.append((cells, index[(TOTAL,)]))
    a_eq = np.zeros((len(equalities), n))
    for e, (cells, total) in enumerate(equalities):
        a_eq[e, cells] = 1
        a_eq[e, total] = -1
    b_eq = np.zeros(len(equalities))
    learned = {}
    for key, k in index.items():
        if rows[k]["count"] is not None:
            continue
        c = np.zeros(n)
        c[k] = 1
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        top = float("inf") if high.status == 3 else -high.fun  # 3: unbounded
        learned[key] = (low.fun, top)
    return learned


def _exact(counts: list[list[int]]) -> dict[tuple, int]:
    """Every cell and margin of the table by its labels."""
    out = {}
    for i, row in enumerate(counts):
        for j, c in enumerate(row):
            out[(f"a{i}", f"n{j}")] = c
        out[(f"a{i}", TOTAL)] = sum(row)
    for j in range(len(counts[0])):
        out[(TOTAL, f"n{j}")] = sum(row[j] for row in counts)
    out[(TOTAL, TOTAL)] = sum(map(sum, counts))
    return out


small_heavy = st.one_of(st.integers(0, 9), st.integers(0, 60), st.integers(0, 2000))
grids = st.integers(1, 5).flatmap(
    lambda cols: st.lists(
        st.lists(small_heavy, min_size=cols, max_size=cols), min_size=1, max_size=6
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids)
def test_no_published_count_is_small_and_every_count_is_rounded(counts):
    published = control(_table(counts), ["area", "need"]).published["count"].drop_nulls()
    assert not published.is_between(1, RULES.threshold).any()
    assert (published % RULES.rounding == 0).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids)
def test_no_redacted_small_cell_can_be_recovered_from_the_published_totals(counts):
    """For each cell redacted as small, the attacker's range stays at least as wide as the
    redaction itself promises: it cannot tell apart threshold + 1 possible values."""
    controlled = control(_table(counts), ["area", "need"])
    exact = _exact(counts)
    learned = attack(controlled.published, ["area", "need"], RULES)
    for key, (low, high) in learned.items():
        assert low <= exact[key] <= high  # the attacker's model is right about the truth
        if 1 <= exact[key] <= RULES.threshold:
            assert high - low >= RULES.threshold, (key, exact[key], low, high)


def test_the_attacker_does_recover_cells_when_only_small_cells_are_hidden():
    """The same attacker against primary suppression alone with exact totals: it recovers the
    cell exactly, so the test above can fail."""
    counts = [[3, 40, 52], [25, 31, 60]]
    table = _table(counts)
    naive = table.with_columns(
        pl.when(pl.col("count").is_between(1, 7))
        .then(None)
        .otherwise(pl.col("count"))
        .alias("count")
    )
    exact = _exact(counts)
    margins = [{"area": a, "need": n, "count": v} for (a, n), v in exact.items() if TOTAL in (a, n)]
    published = pl.concat([naive, pl.DataFrame(margins, schema=naive.schema)])
    learned = attack(published, ["area", "need"], RULES, exact_totals=True)
    assert learned[("a0", "n0")] == (3, 3)
    controlled = control(table, ["area", "need"])
    assert controlled.secondary >= 1  # ours hides another cell in that row and column
    low, high = attack(controlled.published, ["area", "need"], RULES)[("a0", "n0")]
    assert high - low >= RULES.threshold


def test_one_dimension_with_its_total():
    table = pl.DataFrame({"band": ["18-24", "25-34", "35-44"], "count": [4, 120, 33]})
    c = control(table, ["band"])
    got = dict(c.published.iter_rows())
    assert got["18-24"] is None and got[TOTAL] == 155  # 157 rounded to 155
    assert sum(v is None for v in got.values()) == 2  # a second cell, so 4 is not 157 - 153
    assert c.record()["rules_fired"] == [
        "primary_suppression",
        "secondary_suppression",
        "rounding",
    ]


def test_a_small_change_since_the_last_publication_is_refused():
    before = control(_table([[40, 52], [31, 60]]), ["area", "need"])
    after = control(_table([[43, 52], [31, 60]]), ["area", "need"])  # three people joined
    assert differencing(after, before.exact) >= 1
    with pytest.raises(DisclosureError, match="coarser groups") as err:
        require_no_differencing(after, before.exact)
    assert "a0" not in str(err.value) and "n0" not in str(err.value)  # names no cell
    big = control(_table([[60, 52], [31, 60]]), ["area", "need"])  # twenty joined: not small
    assert differencing(big, before.exact) == 0
    assert differencing(before, before.exact) == 0
    assert differencing(after, None) == 0


def test_a_table_with_more_than_two_groupings_is_refused():
    table = pl.DataFrame({"a": ["x"], "b": ["y"], "c": ["z"], "count": [10]})
    with pytest.raises(DisclosureError, match="at most two"):
        control(table, ["a", "b", "c"])


def _learned(published: pl.DataFrame, dims: list[str], rules: DisclosureRules, exact=False):
    """What an attacker knows of every cell of one publication: a published count within its
    rounding (or exactly, for an unrounded table), a redacted one from the linear programme."""
    half = 0 if exact else rules.rounding // 2
    out = {
        tuple(r[d] for d in dims): (max(0, r["count"] - half), r["count"] + half)
        for r in published.iter_rows(named=True)
        if r["count"] is not None
    }
    return out | attack(published, dims, rules, exact_totals=exact)


def _small_groups_shown(before: dict, after: dict, rules: DisclosureRules) -> list:
    """Cells where subtracting the two publications shows that a group of 1..threshold people
    came or went: the change's whole range lies within 1..threshold (or its negative)."""
    shown = []
    for key in before.keys() & after.keys():
        low = after[key][0] - before[key][1]
        high = after[key][1] - before[key][0]
        if 1 <= low and high <= rules.threshold or -rules.threshold <= low and high <= -1:
            shown.append(key)
    return shown


changes = st.one_of(st.just(0), st.integers(-9, 9), st.integers(-60, 60))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids, st.data())
def test_two_publications_never_show_a_small_group_by_subtraction(counts, data):
    """The attacker holds last month's publication and this month's (if it was allowed) and
    subtracts them, cell by cell and margin by margin, redacted cells at their LP ranges."""
    after_counts = [[max(0, c + data.draw(changes)) for c in row] for row in counts]
    dims = ["area", "need"]
    before = control(_table(counts), dims)
    after = control(_table(after_counts), dims)
    try:
        require_no_differencing(after, before.exact)
    except DisclosureError:
        return  # refused: nothing new was published to subtract
    shown = _small_groups_shown(
        _learned(before.published, dims, RULES), _learned(after.published, dims, RULES), RULES
    )
    assert shown == []


def test_the_subtracting_attacker_finds_a_small_group_in_unprotected_tables():
    """Positive control: the same attacker against two exact, unsuppressed publications finds
    the three people who joined one cell, so the test above can fail."""
    dims = ["area", "need"]
    before, after = _table([[40, 52], [31, 60]]), _table([[43, 52], [31, 60]])

    def exact(table: pl.DataFrame) -> pl.DataFrame:
        margins = _exact([[40, 52], [31, 60]] if table.equals(before) else [[43, 52], [31, 60]])
        rows = [{"area": a, "need": n, "count": v} for (a, n), v in margins.items()]
        return pl.DataFrame(rows, schema=table.schema)

    shown = _small_groups_shown(
        _learned(exact(before), dims, RULES, exact=True),
        _learned(exact(after), dims, RULES, exact=True),
        RULES,
    )
    assert ("a0", "n0") in shown
