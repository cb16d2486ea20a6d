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
