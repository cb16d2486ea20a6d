import polars as pl

from flows.io import read_extract, read_manifest
from governance import canonical as canon
from schemas.registry import all_extracts, partner_names


def test_nhs_numbers_are_valid_and_from_the_test_range_only(synthetic_dir):
    truth_nhs = []
    for ex in all_extracts():
        if "nhs_number" not in ex.column_names:
            continue
        read, _ = read_extract(
            synthetic_dir / "landing" / ex.partner,
            ex,
            read_manifest(synthetic_dir / "landing" / ex.partner),
        )
        assert read.rejected.is_empty()
        df = read.rows
        digits = df.select(canon.nhs_number_digits(pl.col("nhs_number"))).to_series().drop_nulls()
        truth_nhs.append(digits.filter(digits.str.len_chars() > 0))
    numbers = pl.concat(truth_nhs)
    assert numbers.len() > 100
    assert numbers.str.starts_with("999").all()
    valid = numbers.to_frame().select(canon.nhs_number_valid(pl.col("nhs_number"))).to_series()
    assert 0.99 < valid.mean() < 1.0  # a few deliberately broken, for the quarantine


def test_same_seed_same_files(tmp_path, synthetic_dir):
    from flows.synth import synthesise
    from tests.conftest import RUN_DATE

    synthesise(3000, 11, tmp_path, RUN_DATE)
    for ex in (ex for ex in all_extracts() if ex.partner in partner_names()):
        a = (synthetic_dir / "landing" / ex.partner / ex.file).read_bytes()
        b = (tmp_path / "landing" / ex.partner / ex.file).read_bytes()
        assert a == b, ex.name


def test_ground_truth_covers_every_record(synthetic_dir):
    truth = pl.read_parquet(synthetic_dir / "ground_truth" / "records.parquet")
    total = sum(
        entry["rows"]
        for p in partner_names()
        for entry in read_manifest(synthetic_dir / "landing" / p).values()
    )
    assert truth.height == total
    assert truth.select("partner", "extract", "record_ref").is_duplicated().sum() == 0


def test_past_the_nhs_test_range_only_numbered_people_are_in_extracts_that_need_one(
    tmp_path, monkeypatch
):
    """A population larger than the test range can number (about 3M people; here the range is
    made 150 numbers) still synthesises: the unnumbered people have no records in the extracts
    that require an NHS number, so none is written only to be quarantined."""
    import datetime as dt

    from flows import synth_people
    from flows.synth import synthesise

    small = synth_people.nhs_test_pool()[:150]
    monkeypatch.setattr("flows.synth.nhs_test_pool", lambda: small)
    monkeypatch.setattr("flows.synth_people.nhs_test_pool", lambda: small)
    messages: list[str] = []
    synthesise(2_000, 3, tmp_path, dt.date(2026, 11, 1), progress=messages.append)
    assert any("test range holds 150 valid numbers" in m for m in messages)
    required = [
        (ex.partner, ex.name)
        for ex in all_extracts()
        if (c := ex.identity_columns.get("nhs_number")) and ex.column(c).required
    ]
    assert required
    truth = pl.read_parquet(tmp_path / "ground_truth" / "records.parquet")
    needing = truth.filter(
        pl.struct("partner", "extract").is_in(
            pl.DataFrame(required, schema=["partner", "extract"], orient="row")
            .to_struct()
            .implode()
        )
    )
    assert 0 < needing["person"].n_unique() <= 150
    assert truth["person"].n_unique() > needing["person"].n_unique()
