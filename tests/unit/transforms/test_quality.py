import datetime as dt

import polars as pl

from schemas.partners import nhs
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


def test_exact_duplicate_rows_keep_the_first_and_quarantine_the_copies():
    rows = pl.DataFrame([_ae(), _ae(), _ae(record_ref="AE2"), _ae()])
    good, bad = split_rows(rows, nhs.AE)
    assert good["record_ref"].to_list() == ["AE1", "AE2"]
    assert bad["quarantine_reason"].to_list() == ["DUPLICATE_ROW"] * 2


def test_different_rows_sharing_a_record_ref_are_all_quarantined():
    rows = pl.DataFrame([_ae(), _ae(self_harm="Y"), _ae(self_harm="Y")])
    good, bad = split_rows(rows, nhs.AE)
    assert good.height == 0
    assert bad["quarantine_reason"].to_list() == [
        "DUPLICATE_REF:record_ref",
        "DUPLICATE_REF:record_ref",
        "DUPLICATE_ROW;DUPLICATE_REF:record_ref",
    ]


def test_impossible_out_of_range_nul_and_huge_values_get_their_codes():
    rows = pl.DataFrame(
        [
            _ae(record_ref="AE1", arrival_date="2026-02-31"),
            _ae(record_ref="AE2", arrival_date="1899-12-31"),
            _ae(record_ref="AE3", arrival_date="2026-11-02"),
            _ae(record_ref="AE4", surname="Le\x00e"),
            _ae(record_ref="AE5", forename="A" * 1001),
            _ae(record_ref="AE6", arrival_date="2026-11-01"),
        ]
    )
    good, bad = split_rows(rows, nhs.AE, latest=dt.date(2026, 11, 1))
    assert good["record_ref"].to_list() == ["AE6"]
    assert bad["quarantine_reason"].to_list() == [
        "BAD_DATE:arrival_date",
        "OUT_OF_RANGE:arrival_date",
        "OUT_OF_RANGE:arrival_date",
        "NUL_BYTE:surname",
        "FIELD_TOO_LONG:forename",
    ]


def test_no_rows_no_reasons():
    good, bad = split_rows(pl.DataFrame([_ae()]), nhs.AE)
    assert good.height == 1 and reason_counts(bad) == {}
