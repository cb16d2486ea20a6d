"""check_query: what an analyst may run, what is refused, and that the SQL that runs is the SQL
that was checked. Synthetic frames only. Every literal and unregistered name in a refused query
below contains "zz", so a message that quotes the query fails `test_refusal_names_no_literal`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from governance.sql_sandbox import (
    POLARS_FILE_FUNCTIONS,
    QueryRefusedError,
    check_query,
)

CATALOGUE = {"cohort", "areas"}
COHORT = pl.LazyFrame(
    {
        "person_id": ["p1", "p2", "p3", "p4", "p5"],
        "need_count": [0, 1, 2, 3, 2],
        "mcn_flag": [False, False, True, True, True],
        "first_need_date": [
            None,
            dt.date(2026, 1, 5),
            dt.date(2026, 2, 1),
            dt.date(2025, 12, 30),
            dt.date(2026, 3, 3),
        ],
        "age_band": ["18-24", "25-34", "25-34", None, "35-44"],
        "partners": ["nhs", "police,nhs", "council", "dwp,nhs,police", "nhs"],
        "n_records": [1, 2, 3, 5, 2],
    }
)
AREAS = pl.LazyFrame(
    {"person_id": ["p1", "p2", "p3", "p9"], "district": ["LS1", "LS2", "LS1", "LS9"]}
)

# query | registered tables it reads
ALLOWED = """
select need_count, count(*) as persons from cohort group by 1 order by 1              | cohort
select age_band, count(*) n, avg(n_records) a from cohort where age_band is not null
  group by age_band having count(*) > 0 order by age_band                             | cohort
select count(distinct age_band) as bands from cohort                                  | cohort
select person_id, case when need_count >= 2 then 'mcn' when need_count = 1 then 'one'
  else 'none' end as grp from cohort order by person_id                               | cohort
select sum(case when mcn_flag then 1 else 0 end) as mcn from cohort                   | cohort
select person_id, row_number() over (partition by age_band order by n_records desc,
  person_id) as rn from cohort order by person_id                                     | cohort
select person_id, sum(n_records) over (order by person_id) as running, lag(need_count)
  over (order by person_id) as prev from cohort order by person_id                    | cohort
select * from cohort qualify row_number() over (order by n_records desc) = 1          | cohort
with m as (select * from cohort where mcn_flag) select count(*) as n from m           | cohort
with m as (select person_id from cohort where mcn_flag), x as (select * from m)
  select * from x order by 1                                                          | cohort
select c.person_id, a.district from cohort c join areas a on c.person_id = a.person_id
  order by 1                                                                          | areas,cohort
select c.person_id, a.district from cohort c left join areas a using (person_id)
  order by 1                                                                          | areas,cohort
select person_id from cohort where person_id in (select person_id from areas)
  order by 1                                                                          | areas,cohort
select person_id from cohort c where exists (select 1 from areas a
  where a.person_id = c.person_id) order by 1                                         | areas,cohort
select person_id from cohort union select person_id from areas order by 1             | areas,cohort
select person_id from cohort except select person_id from areas order by 1            | areas,cohort
select person_id from cohort intersect select person_id from areas order by 1         | areas,cohort
(select person_id from cohort union select person_id from areas) order by 1 desc
  limit 2                                                                             | areas,cohort
select t.n from (select count(*) as n from cohort) as t                               | cohort
select * from cohort order by n_records desc, person_id limit 2 offset 1              | cohort
select upper(age_band) u, lower(partners) l, length(partners) len,
  substr(partners, 1, 3) s, partners || '-' || age_band as combo from cohort
  order by 1                                                                          | cohort
select person_id from cohort where partners ilike '%NHS%' order by 1                  | cohort
select coalesce(age_band, 'unknown') ab, count(*) as n from cohort group by 1
  order by 1                                                                          | cohort
select extract(year from first_need_date) y, date_part('month', first_need_date) m,
  strftime(first_need_date, '%Y-%m') ym, date_trunc('month', first_need_date) d
  from cohort order by person_id                                                      | cohort
select person_id from cohort where first_need_date between date '2026-01-01'
  and date '2026-02-28' order by 1                                                    | cohort
select cast(need_count as double) / 2 as half, need_count::varchar as s from cohort
  order by 1                                                                          | cohort
select round(avg(n_records), 2) as a, median(n_records) as m from cohort              | cohort
select "person_id" from "cohort" order by 1                                           | cohort
with M as (select person_id from cohort) select * from m order by 1                   | cohort
select count(*) from COHORT                                                           | cohort
select * exclude (partners) from cohort order by person_id                            | cohort
select n_records // 2 as half, n_records % 2 as odd from cohort order by person_id    | cohort
select log(100, 10) as a, log10(1000) as b, ln(1) as c                                |
select strpos(person_id, '1') as a, position('1' in person_id) as b from cohort
  order by person_id                                                                  | cohort
select trim(both 'p' from person_id) as a, trim(leading 'p' from person_id) as b
  from cohort order by 1                                                              | cohort
select dayofweek(first_need_date) d, dayofyear(first_need_date) y from cohort
  order by person_id                                                                  | cohort
select "$$quoted" from (select 1 as "$$quoted")                                         |
select [1, 2, 3] as arr                                                               |
select 'it''s' as q, 'a\\b' as bs -- a trailing comment
                                                                                      |
select /* a comment */ count(*) as n from cohort;                                     | cohort
"""

# query | rule code | construct named in the message
REFUSED = """
select * from read_csv('zz/linkage.key', has_header => false)             | SQL004 | read_csv
select * from READ_CSV('zz.csv')                                          | SQL004 | read_csv
select * from "read_parquet"('zz.parquet')                                | SQL004 | read_parquet
select * from read_ipc /**/ ('zz.arrow')                                  | SQL004 | read_ipc
select * from ((read_json('zz.json')))                                    | SQL004 | read_json
select * from (select * from (select * from read_ndjson('zz.ndjson')))    | SQL004 | read_ndjson
select * from cohort join read_csv('zz.csv') zz on true                   | SQL004 | read_csv
select * from cohort, read_parquet('zz.parquet') zz                       | SQL004 | read_parquet
select (select count(*) from read_csv('zz.csv')) from cohort              | SQL004 | read_csv
select * from cohort where need_count in (select 1 from read_ipc('zz'))   | SQL004 | read_ipc
with zz as (select * from read_csv('zz.csv')) select * from zz            | SQL004 | read_csv
select * from cohort union all select * from read_parquet('zz.parquet')   | SQL004 | read_parquet
select read_csv('zz.csv') from cohort                                     | SQL004 | read_csv
select * from zz_schema.read_csv('zz.csv')                                | SQL004 | read_csv
select * from table(read_csv('zz.csv'))                                   | SQL004 | read_csv
select * from read_avro('zz.avro')                                        | SQL004 | scan_*
select scan_parquet('zz.parquet') from cohort                             | SQL004 | scan_*
select * from generate_series(1, 3)                                       | SQL005 | generate_series
select * from range(1, 3)                                                 | SQL005 | range
select * from zz_function(1)                                              | SQL005 | a function
select * from unnest([1, 2]) as zz(v)                                     | SQL005 | UNNEST
select unnest([1, 2]) as zz from cohort                                   | SQL005 | UNNEST
select * from (values (1), (2)) zz(v)                                     | SQL005 | VALUES
select * from cohort cross join lateral (select 1) zz                     | SQL005 | LATERAL
select * from 'data/zz_landing.csv'                                       | SQL006 | not registered
select * from "data/zz_vault.parquet"                                     | SQL006 | not registered
select * from zz_secrets                                                  | SQL006 | not registered
select * from cohort c join zz_other o on true                            | SQL006 | not registered
select * from zz_schema.cohort                                            | SQL007 | qualified
select * from zz_catalog.zz_schema.cohort                                 | SQL007 | qualified
select * from cohort tablesample (50 percent)                             | SQL007 | modifier
with cohort as (select 'zz' as x) select * from cohort                    | SQL008 | reuses the name
create table zz as select * from cohort                                   | SQL003 | read-only
drop table cohort                                                         | SQL003 | read-only
insert into cohort (person_id) values ('zz')                              | SQL003 | read-only
copy cohort to 'zz.csv'                                                   | SQL003 | read-only
explain select * from cohort                                              | SQL003 | read-only
show tables                                                               | SQL003 | read-only
set zz = 1                                                                | SQL003 | read-only
truncate cohort                                                           | SQL003 | read-only
values (1)                                                                | SQL003 | read-only
select 1 into zz from cohort                                              | SQL003 | INTO
with zz as (delete from cohort) select 1                                  | SQL003 | WITH
select $$zz, ' $$ as n, 42 as m --' as note from cohort                   | SQL010 | letters, digits
select zz$x from cohort                                                   | SQL010 | letters, digits
select * from cohort where need_count = ?                                 | SQL010 | parameter
select * from cohort where need_count = :zz                               | SQL010 | parameter
select 1; select 2                                                        | SQL002 | one statement
                                                                          | SQL002 | one statement
-- zz only a comment                                                      | SQL002 | one statement
select * from cohort where ('zz'                                          | SQL001 | parsed
select * from `zz.csv`                                                    | SQL001 | parsed
select 1 /* zz /* nested, unclosed */ , '*/ from read_csv(''zz'') --'     | SQL001 | parsed
"""


_CELL = re.compile(r"\s+\|(?=\s|$)")  # " | " separates cells; SQL's "||" does not


def _rows(table: str) -> list[list[str]]:
    """Rows of a text table; lines without a cell separator continue the next row's query."""
    rows, current = [], ""
    for line in table.strip("\n").splitlines():
        if _CELL.search(line):
            rows.append([c.strip() for c in _CELL.split(current + " " + line)])
            current = ""
        else:
            current += " " + line.strip()
    return rows


def _run(sql: str) -> pl.DataFrame:
    return pl.SQLContext(cohort=COHORT, areas=AREAS).execute(sql, eager=True)


@pytest.mark.parametrize(("sql", "tables"), _rows(ALLOWED))
def test_allowed_query_runs_as_the_original(sql, tables):
    checked = check_query(sql, CATALOGUE)
    assert checked.tables == tuple(t for t in tables.split(",") if t)
    assert_frame_equal(_run(checked.sql), _run(sql))


@pytest.mark.parametrize(("sql", "code", "construct"), _rows(REFUSED))
def test_refused_query_says_which_rule_and_construct(sql, code, construct):
    with pytest.raises(QueryRefusedError) as refused:
        check_query(sql, CATALOGUE)
    assert refused.value.code == code
    assert construct in str(refused.value)
    assert "registered tables: areas, cohort" in str(refused.value)


@pytest.mark.parametrize(("sql", "code", "construct"), _rows(REFUSED))
def test_refusal_names_no_literal(sql, code, construct):
    with pytest.raises(QueryRefusedError) as refused:
        check_query(sql, CATALOGUE)
    assert "zz" not in str(refused.value).lower()


def test_refused_queries_use_the_zz_marker_for_every_user_value():
    """Guards the test above: a refused query with a path, name or literal must mark it."""
    for sql, _, _ in _rows(REFUSED):
        if "'" in sql or '"' in sql or "`" in sql:
            assert "zz" in sql, sql


def test_exit_code_is_stable():
    assert QueryRefusedError.exit_code == 13


def test_sql_is_regenerated_and_hash_is_of_the_text_given():
    text = "select   need_count /* why */ from cohort -- note"
    checked = check_query(text, CATALOGUE)
    assert checked.sql == 'SELECT "need_count" FROM "cohort"'
    assert checked.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_every_name_runs_in_double_quotes():
    checked = check_query("select c.need_count as n from cohort c where mcn_flag", CATALOGUE)
    assert checked.sql == 'SELECT "c"."need_count" AS "n" FROM "cohort" AS "c" WHERE "mcn_flag"'


def test_regenerated_sql_is_a_fixed_point():
    checked = check_query("select count(*) as n from cohort where need_count >= 2", CATALOGUE)
    assert check_query(checked.sql, CATALOGUE).sql == checked.sql


def test_outer_limit_on_a_parenthesised_query_is_kept():
    checked = check_query("(select person_id from cohort) limit 1", CATALOGUE)
    assert _run(checked.sql).height == 1


def test_tables_are_sorted_registered_names_not_ctes():
    sql = "with zz_cte as (select * from Areas) select * from COHORT, zz_cte"
    assert check_query(sql, CATALOGUE).tables == ("areas", "cohort")


def test_empty_catalogue_refuses_every_table():
    with pytest.raises(QueryRefusedError, match=r"\(none registered\)"):
        check_query("select * from cohort", ())


def test_sqlglot_log_records_never_reach_the_log(caplog):
    """sqlglot warns with the query text when it falls back to a raw command."""
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(QueryRefusedError):
            check_query("explain select * from zz_landing", CATALOGUE)
    assert not [r for r in caplog.records if "zz" in r.getMessage()]


def test_deep_nesting_is_refused_not_crashed():
    sql = "select " + "(" * 5000 + "1" + ")" * 5000
    with pytest.raises(QueryRefusedError):
        check_query(sql, CATALOGUE)


_SEPARATORS = st.sampled_from(["", " ", "\n", "/**/", "/* zz */", "\t"])


@given(
    name=st.sampled_from(sorted(POLARS_FILE_FUNCTIONS)),
    upper=st.lists(st.booleans(), min_size=12, max_size=12),
    quoted=st.booleans(),
    before=_SEPARATORS,
    after=_SEPARATORS,
    wrap=st.sampled_from(["{}", "({})", "(select * from {})", "cohort join {} zz on true"]),
)
def test_file_functions_are_refused_however_spelt(name, upper, quoted, before, after, wrap):
    spelt = "".join(c.upper() if u else c for c, u in zip(name, upper, strict=False))
    spelt = f'"{spelt}"' if quoted else spelt
    source = wrap.format(f"{before}{spelt}{after}('zz.file')")
    with pytest.raises(QueryRefusedError) as refused:
        check_query(f"select * from {source}", CATALOGUE)
    assert refused.value.code in {"SQL001", "SQL004"}
