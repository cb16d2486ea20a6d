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
    write_optout(tmp_path, ["9434765919"], RUN)
    optout = load_optout(tmp_path)
    raw = _rows(["943 476 5919", "9434765919", "9990000018", None])
    kept, removed = remove_opted_out(raw, nhs.AE, optout)
    assert removed == 2 and kept["record_ref"].to_list() == ["2", "3"]


def test_repr_shows_no_numbers(tmp_path):
    write_optout(tmp_path, ["9434765919"], RUN)
    assert "9434765919" not in repr(load_optout(tmp_path))


def test_stale_list_fails_closed(tmp_path):
    policy = load_policy("nhs")
    allowed = policy.agreement.opt_out.max_list_age_days
    write_optout(tmp_path, ["9434765919"], RUN - dt.timedelta(days=allowed))
    require_fresh(load_optout(tmp_path), policy, RUN)  # exactly at the limit: accepted
    write_optout(tmp_path, ["9434765919"], RUN - dt.timedelta(days=allowed + 1))
    with pytest.raises(OptOutError, match="days old"):
        require_fresh(load_optout(tmp_path), policy, RUN)


def test_missing_or_altered_list_fails_closed(tmp_path):
    with pytest.raises(OptOutError, match="missing"):
        load_optout(tmp_path)
    write_optout(tmp_path, ["9434765919"], RUN)
    (tmp_path / "nhs_numbers.csv").write_text("nhs_number\n9990000018\n")
    with pytest.raises(OptOutError, match="checksum"):
        load_optout(tmp_path)
