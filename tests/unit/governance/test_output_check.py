"""Which queries a default analyst may run: one COUNT in at most two coarse groups."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.query import groupable, table_columns
from governance.disclosure import DEFAULT_RULES
from governance.output_check import AggregateOnlyError, aggregate_shape, controlled_result
from governance.sql_sandbox import check_query

TABLES = {"cohort": Path("cohort.parquet")}


def _shape(sql: str):
    return aggregate_shape(check_query(sql, TABLES).sql, table_columns(TABLES), groupable(TABLES))


@pytest.mark.parametrize(
    "sql",
    [
        "select need_count, count(*) from cohort group by 1",
        "select age_band, postcode_district, count(*) as n from cohort group by 1, 2",
        "select count(distinct person_id) as people from cohort",
        "select b, count(*) as n from (select age_band as b from cohort where mcn_flag) group by b",
        "with t as (select need_count as k from cohort) select k, count(*) from t group by k",
    ],
)
def test_counts_in_coarse_groups_are_aggregates(sql):
    shape = _shape(sql)
    assert len(shape.dims) <= 2 and shape.count not in shape.dims


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("select * from cohort", "SQL012"),
        ("select person_id, need_count from cohort", "SQL012"),
        ("select max(need_count) from cohort", "SQL012"),
        ("select count(*), sum(n_records) from cohort", "SQL014"),
        ("select person_id, count(*) from cohort group by 1", "SQL015"),
        ("select p, count(*) from (select person_id as p from cohort) group by p", "SQL015"),
        ("select first_need_date, count(*) from cohort group by 1", "SQL015"),
        ("select year(last_need_date) as y, count(*) from cohort group by 1", "SQL015"),
        (
            "select age_band, postcode_district, need_count, count(*) from cohort group by 1, 2, 3",
            "SQL013",
        ),
        ("select age_band, count(*) over () from cohort", "SQL012"),
        (
            "select age_band, count(*) from cohort group by 1 "
            "union all select age_band, count(*) from cohort group by 1",
            "SQL011",
        ),
    ],
)
def test_rows_values_and_fine_tables_are_refused_with_a_code(sql, code):
    with pytest.raises(AggregateOnlyError) as err:
        _shape(sql)
    assert err.value.code == code
    assert "Fix:" in str(err.value)


def test_a_result_is_controlled_whatever_its_column_names():
    result = pl.DataFrame({"need_count": [0, 1, 2, 3], "len": [900, 64, 12, 3]})
    shape = _shape("select need_count, count(*) from cohort group by 1")
    published = controlled_result(result, shape, DEFAULT_RULES).published
    counts = published["len"].drop_nulls()
    assert not counts.is_between(1, 7).any() and (counts % 5 == 0).all()
    assert published.filter(pl.col("need_count") == "3")["len"].item() is None
