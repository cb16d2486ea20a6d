"""A subject's identifiers tokenise exactly as an extract's row does, whatever partner sent it."""

import datetime as dt

import polars as pl

from governance.policy import load_policy
from governance.pseudonymise import apply_policy
from governance.subject import raw_tokens, subject_tokens
from schemas.registry import partner

ROW = {
    "record_ref": "AE1",
    "arrival_date": "2026-10-01",
    "alcohol_related": "N",
    "drug_related": "N",
    "self_harm": "N",
    "nhs_number": "943 476 5919",
    "forename": "Bob",
    "surname": "O'Neill",
    "date_of_birth": "1980-02-29",
    "sex": "M",
    "postcode": "ls1 4ap",
}


def test_subject_tokens_equal_the_staged_tokens_of_the_same_person(key):
    ex = partner("nhs").extract("ae_attendances")
    staged = apply_policy(pl.DataFrame([ROW]), ex, load_policy("nhs"), key, dt.date(2026, 11, 1))
    given = {
        "nhs_number": "9434765919",
        "forename": "Robert",
        "surname": "O'NEILL",
        "dob": "1980-02-29",
        "postcode": "LS1 4AP",
    }
    tokens = subject_tokens(given, key)
    assert tokens["tok_nhs"] == staged["tok_nhs"][0]
    assert tokens["tok_mk3"] == staged["tok_mk3"][0]  # names (nickname mapped) and DOB
    assert tokens["tok_mk2"] == staged["tok_mk2"][0]
    assert raw_tokens(pl.DataFrame([ROW]), ex, key)["tok_nhs"][0] == tokens["tok_nhs"]


def test_too_little_to_single_anyone_out_gives_no_token(key):
    assert subject_tokens({"surname": "Smith"}, key) == {}
    assert subject_tokens({"forename": "Ann", "surname": "Smith"}, key) == {}
