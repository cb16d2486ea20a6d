import datetime as dt
import json

import polars as pl
import pytest

from governance.errors import OptOutError
from governance.optout import load_optout, remove_opted_out, require_fresh, write_optout
from governance.policy import load_policy
from schemas.partners import nhs

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


def test_a_listed_number_written_as_a_float_is_removed_too(tmp_path):
    """pandas writes "9990000026.0"; where the reader left such a column as written (fewer than
    half of it were whole floats), the listed person's row is still removed, not kept in
    quarantine."""
    write_optout(tmp_path, ["9990000026"], RUN)
    raw = _rows(["9990000026.0", "9990000026.5", "9990000018.0", "abc"])
    result = remove_opted_out(raw, nhs.AE, load_optout(tmp_path))
    assert result.removed == 1 and result.kept["record_ref"].to_list() == ["1", "2", "3"]
    assert result.unchecked == 2


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


@pytest.fixture
def approver():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from governance import signatures as sig

    key = Ed25519PrivateKey.generate()
    return key, {sig.key_id(key.public_key(), "a"): ("IG", key.public_key())}


def test_only_a_list_an_ig_officer_signed_is_used(tmp_path, approver):
    from governance.optout import sign_manifest

    key, trusted = approver
    write_optout(tmp_path, ["9990000026", "9990000018"], RUN)
    with pytest.raises(OptOutError, match="not signed"):
        load_optout(tmp_path, trusted)
    sign_manifest(tmp_path, "IG", key)
    assert load_optout(tmp_path, trusted).numbers.len() == 2
    # an insider takes a number off and recomputes the manifest's rows and hash
    write_optout(tmp_path, ["9990000026"], RUN)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "signature" not in manifest
    with pytest.raises(OptOutError, match="not signed"):
        load_optout(tmp_path, trusted)


def test_an_older_list_than_one_already_applied_is_refused(tmp_path):
    from governance.optout import require_not_older_than_used, used_as_of

    write_optout(tmp_path, ["9990000026"], RUN)
    entries = [{"event": "ingest", "optout_as_of": (RUN + dt.timedelta(days=3)).isoformat()}]
    with pytest.raises(OptOutError, match="older than the list"):
        require_not_older_than_used(load_optout(tmp_path), used_as_of(entries))
    require_not_older_than_used(load_optout(tmp_path), used_as_of([]))


def test_a_list_without_its_header_fails_without_quoting_a_number(tmp_path):
    import hashlib

    (tmp_path / "nhs_numbers.csv").write_text("9990000026\n9990000018\n")
    digest = hashlib.sha256((tmp_path / "nhs_numbers.csv").read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(
        json.dumps({"as_of": RUN.isoformat(), "rows": 1, "sha256": digest})
    )
    with pytest.raises(OptOutError) as err:
        load_optout(tmp_path)
    assert "9990000026" not in str(err.value) and "nhs_number" in str(err.value)
