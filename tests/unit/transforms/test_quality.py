import polars as pl

from schemas import nhs
from transforms.quality import reason_counts, split_rows


def _ae(**changes):
    row = {
        "record_ref": "AE1",
        "arrival_date": "2026-10-01",
        "alcohol_related": "N",
        "drug_related": "N",
        "self_harm": "N",
        "nhs_number": "9990000026",
        "forename": "Ann",
        "surname": "Lee",
        "date_of_birth": "1980-01-02",
        "sex": "2",
        "postcode": "LS1 1AA",
    }
    return {**row, **changes}


def test_each_broken_rule_gets_its_reason_code_and_no_value():
    rows = pl.DataFrame(
        [
            _ae(),
            _ae(record_ref="AE2", arrival_date="unknown"),
            _ae(record_ref="AE3", nhs_number="9434765918"),
            _ae(record_ref="AE4", nhs_number=None, self_harm="maybe"),
            _ae(
                record_ref="AE5", date_of_birth="not a date"
            ),  # identity: made null, not quarantined
        ]
    )
    good, bad = split_rows(rows, nhs.AE)
    assert good["record_ref"].to_list() == ["AE1", "AE5"]
    assert dict(zip(bad["record_ref"], bad["quarantine_reason"], strict=True)) == {
        "AE2": "BAD_DATE:arrival_date",
        "AE3": "BAD_NHS_NUMBER:nhs_number",
        "AE4": "BAD_CODE:self_harm;MISSING:nhs_number",
    }
    assert good.height + bad.height == rows.height
    assert reason_counts(bad)["BAD_NHS_NUMBER:nhs_number"] == 1


def test_duplicate_record_refs_are_both_quarantined():
    good, bad = split_rows(pl.DataFrame([_ae(), _ae()]), nhs.AE)
    assert (
        good.height == 0 and bad["quarantine_reason"].to_list() == ["DUPLICATE_REF:record_ref"] * 2
    )


def test_no_rows_no_reasons():
    good, bad = split_rows(pl.DataFrame([_ae()]), nhs.AE)
    assert good.height == 1 and reason_counts(bad) == {}
