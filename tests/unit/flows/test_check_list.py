"""No check is dropped: the checks the code runs per extract equal the committed list."""

from __future__ import annotations

from flows import checks
from tests.check_list import committed
from transforms.quality import rule_flags


def test_the_suites_and_row_rules_the_code_makes_are_the_committed_list():
    assert checks.checks_per_extract() == committed()


def test_the_committed_list_covers_every_extract_and_every_kind_of_check():
    from schemas.registry import all_extracts

    listed = committed()
    assert set(listed) == {f"{ex.partner}/{ex.name}" for ex in all_extracts()}
    for extract, kinds in listed.items():
        assert kinds["raw_expectations"] and kinds["staged_expectations"], extract
        assert "DUPLICATE_ROW" in kinds["row_rules"], extract
        assert any("rule=nhs_number_shape" in c for c in kinds["staged_expectations"]), extract


def test_row_rules_are_the_flags_the_quarantine_evaluates():
    from schemas.registry import all_extracts

    ex = all_extracts()[0]
    names = [e.meta.output_name() for e in rule_flags(ex)]
    assert checks.row_rules(ex) == names
    assert sorted(names) == committed()[f"{ex.partner}/{ex.name}"]["row_rules"]


def test_a_dropped_expectation_changes_the_list(monkeypatch):
    """The comparison can fail: a staged suite one expectation short is not the committed list."""
    real = checks.staged_suite
    monkeypatch.setattr(checks, "staged_suite", lambda *a, **k: real(*a, **k)[1:])
    assert checks.checks_per_extract() != committed()


def test_gx_on_duckdb_finds_the_same_failures_as_gx_on_pandas(tmp_path):
    """The engine the night validates on (GX's SQL engine over DuckDB, flows/gx_engine.py) counts
    the same unexpected rows as GX's own pandas engine on the same rows and suite: duplicates,
    nulls, codes outside the set, leak shapes (including a match inside a longer text), bad
    tokens."""
    import great_expectations as gx
    import polars as pl

    from flows import gx_project
    from schemas.registry import all_extracts

    ex = all_extracts()[0]
    text = [c for c in ex.column_names if c != "record_ref"][0]
    staged = pl.DataFrame(
        {
            "record_key": ["a1", "a1", None, "b2", "c3", "d4"],
            "partner": [ex.partner] * 6,
            "extract": [ex.name] * 6,
            text: ["AB12 3CD", None, "ok", "999 123 4567", "ok", "12/03/1980"],
            "tok_x": ["0" * 32, "zz", None, "f" * 32, "1" * 32, "0" * 31 + "G"],
        }
    )
    suite = checks.staged_suite(staged, ex)
    name = gx_project.suite_name(ex.partner, ex.name, "staged")

    def summaries(result) -> list:
        return sorted(
            (s["check"], s["success"], s["unexpected_count"])
            for s in map(checks.summary, result.results)
        )

    on_duckdb = summaries(gx_project.run_checkpoint(name, suite, staged, tmp_path))
    ctx = gx.get_context(mode="ephemeral")
    batch = (
        ctx.data_sources.add_pandas("reference")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("all")
    )
    reference = ctx.validation_definitions.add(
        gx.ValidationDefinition(
            name="reference",
            data=batch,
            suite=ctx.suites.add(gx.ExpectationSuite(name="reference", expectations=suite)),
        )
    )
    on_pandas = summaries(
        reference.run(
            batch_parameters={"dataframe": staged.to_pandas()},
            result_format=gx_project.SAFE_RESULT,
        )
    )
    assert on_duckdb == on_pandas
    failed = {c.split("(")[0] for c, ok, _ in on_pandas if not ok}
    assert {
        "expect_column_values_to_be_unique",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    } <= failed
