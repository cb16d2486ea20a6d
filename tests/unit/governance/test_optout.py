import datetime as dt

import polars as pl
import pytest

from governance.errors import OptOutError
from governance.optout import load_optout, remove_opted_out, require_fresh, write_optout
from governance.policy import load_policy
from schemas import nhs

RUN = dt.date(2026, 11, 1)


def _rows(numbers):
    return pl.DataFrame(
        {"nhs_number": numbers, "record_ref": [str(i) for i in range(len(numbers))]}
    )


def test_removes_exactly_the_listed_numbers_in_any_format(tmp_path):
    write_optout(tmp_path, ["9990000026"], RUN)
    optout = load_optout(tmp_path)
    raw = _rows(["999 000 0026", "9990000026", "9990000018", None])
    result = remove_opted_out(raw, nhs.AE, optout)
    assert result.removed == 2 and result.kept["record_ref"].to_list() == ["2", "3"]
    assert result.unchecked == 1  # the row with no NHS number cannot be checked


def test_a_list_dated_after_the_run_is_refused(tmp_path):
    write_optout(tmp_path, ["9990000026"], RUN + dt.timedelta(days=1))
    with pytest.raises(OptOutError, match="future"):
        require_fresh(load_optout(tmp_path), load_policy("nhs"), RUN)


def test_list_tokens_equal_the_staged_nhs_tokens(tmp_path, key):
    from governance.optout import optout_tokens
    from governance.pseudonymise import apply_policy

    write_optout(tmp_path, ["9990000026"], RUN)
    raw = pl.DataFrame(
        {c: [None] for c in nhs.AE.column_names}, schema={c: pl.String for c in nhs.AE.column_names}
    ).with_columns(nhs_number=pl.lit("999 000 0026"), record_ref=pl.lit("a"))
    staged = apply_policy(raw, nhs.AE, load_policy("nhs"), key, RUN)
    assert optout_tokens(load_optout(tmp_path), key).to_list() == staged["tok_nhs"].to_list()


def test_repr_shows_no_numbers(tmp_path):
    write_optout(tmp_path, ["9990000026"], RUN)
    assert "9990000026" not in repr(load_optout(tmp_path))


def test_stale_list_fails_closed(tmp_path):
    policy = load_policy("nhs")
    allowed = policy.agreement.opt_out.max_list_age_days
    write_optout(tmp_path, ["9990000026"], RUN - dt.timedelta(days=allowed))
    require_fresh(load_optout(tmp_path), policy, RUN)  # exactly at the limit: accepted
    write_optout(tmp_path, ["9990000026"], RUN - dt.timedelta(days=allowed + 1))
    with pytest.raises(OptOutError, match="days old"):
        require_fresh(load_optout(tmp_path), policy, RUN)


def test_missing_or_altered_list_fails_closed(tmp_path):
    with pytest.raises(OptOutError, match="missing"):
        load_optout(tmp_path)
    write_optout(tmp_path, ["9990000026"], RUN)
    (tmp_path / "nhs_numbers.csv").write_text("nhs_number\n9990000018\n")
    with pytest.raises(OptOutError, match="checksum"):
        load_optout(tmp_path)
