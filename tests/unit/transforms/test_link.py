import polars as pl

from transforms.link import link_table


def _records(rows):
    """rows: (record_key, tok_nhs, tok_mk1, tok_mk3)."""
    return pl.DataFrame(rows, schema=["record_key", "tok_nhs", "tok_mk1", "tok_mk3"], orient="row")


RECORDS = [
    ("r1", "n1", "a", None),  # r1-r2 share an NHS number token
    ("r2", "n1", None, "x"),  # r2-r3 share a names+DOB token: r1, r2, r3 are one person
    ("r3", None, None, "x"),
    ("r4", None, "b", None),  # alone
    ("r5", None, "b", None),  # shares mk1 with r4
]


def test_records_sharing_any_token_are_one_person_chains_included(key):
    links = link_table(_records(RECORDS), key=key)
    person = dict(zip(links["record_key"], links["person_id"], strict=True))
    assert person["r1"] == person["r2"] == person["r3"]
    assert person["r4"] == person["r5"] != person["r1"]
    assert links["person_id"].n_unique() == 2


def test_link_rank_is_the_strongest_key_used(key):
    links = link_table(_records(RECORDS), key=key)
    rank = dict(zip(links["record_key"], links["link_rank"], strict=True))
    assert rank["r1"] == 1 and rank["r3"] == 4 and rank["r4"] == 2


def test_singleton_has_no_rank(key):
    links = link_table(_records([("r9", None, "z", None)]), key=key)
    assert links["link_rank"].to_list() == [None]


def test_person_id_is_stable_when_membership_is_unchanged(key):
    first = link_table(_records(RECORDS), key=key)
    shuffled = link_table(_records(list(reversed(RECORDS)) + [("r6", None, "c", None)]), key=key)
    ids = dict(zip(first["record_key"], first["person_id"], strict=True))
    again = dict(zip(shuffled["record_key"], shuffled["person_id"], strict=True))
    assert all(again[k] == v for k, v in ids.items())


def test_person_id_changes_when_membership_changes(key):
    first = link_table(_records(RECORDS), key=key)
    merged = link_table(_records([*RECORDS, ("r0", "n1", "b", None)]), key=key)
    before = dict(zip(first["record_key"], first["person_id"], strict=True))
    after = dict(zip(merged["record_key"], merged["person_id"], strict=True))
    assert after["r1"] == after["r4"] and after["r1"] != before["r1"]


def test_person_id_changes_with_the_linkage_key(key, other_key):
    first = link_table(_records(RECORDS), key=key)
    rotated = link_table(_records(RECORDS), key=other_key)
    assert set(first["person_id"]).isdisjoint(set(rotated["person_id"]))


def _hex(rows):
    """The same records with each toy token as a real token's shape: 32 hex digits."""
    import hashlib

    def tok(v):
        return None if v is None else hashlib.sha256(v.encode()).hexdigest()[:32]

    return _records([(k, *[tok(v) for v in vs]) for k, *vs in rows])


def test_codes_are_the_integers_the_tokens_spell_and_link_the_same_people(key):
    from governance.pseudonymise import TOKEN_CODE
    from transforms.link import as_codes

    text = _hex(RECORDS)
    coded = as_codes(text)
    for c in ("tok_nhs", "tok_mk1", "tok_mk3"):
        assert coded[c].dtype == TOKEN_CODE
        assert coded[c].to_list() == [None if t is None else int(t, 16) for t in text[c]]
    assert coded["record_key"].to_list() == text["record_key"].to_list()
    assert as_codes(coded) is coded  # already codes: nothing to do
    by_text, by_code = link_table(text, key=key), link_table(coded, key=key)
    assert by_text.sort("record_key").equals(by_code.sort("record_key"))
    assert by_code["person_id"].n_unique() == 2


def test_a_value_that_is_not_a_token_is_refused_by_column_and_count_never_shown():
    import pytest

    from governance.errors import PseudonymisationError
    from transforms.link import as_codes

    text = _hex(RECORDS)
    for bad in ("9999000000", "f" * 31, "g" * 32, "f" * 33):  # a raw value, short, not hex, long
        broken = text.with_columns(
            pl.when(pl.col("record_key") == "r2")
            .then(pl.lit(bad))
            .otherwise("tok_mk3")
            .alias("tok_mk3")
        )
        with pytest.raises(PseudonymisationError) as err:
            as_codes(broken)
        assert "tok_mk3: 1" in str(err.value) and bad not in str(err.value)
        assert "tok_nhs" not in str(err.value)


def test_taking_the_tokens_links_the_same_and_leaves_the_caller_only_record_keys(key):
    from transforms.link import as_codes, link_records

    kept, taken = as_codes(_hex(RECORDS)), as_codes(_hex(RECORDS))
    a = link_records(kept, key=key)
    b = link_records(taken, key=key, take_tokens=True)
    assert a.links.equals(b.links) and a.pairs.equals(b.pairs)
    assert taken.columns == ["record_key"] and taken.height == len(RECORDS)
    assert kept.columns == ["record_key", "tok_nhs", "tok_mk1", "tok_mk3"]  # the default keeps
