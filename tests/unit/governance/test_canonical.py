import re
import unicodedata

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance import canonical as canon


def _one(expr, value):
    return pl.DataFrame({"v": [value]}, schema={"v": pl.String}).select(expr(pl.col("v")))[0, 0]


@pytest.mark.parametrize(
    "number, valid",
    [
        ("9990000026", True),  # test range, valid check digit
        ("999 000 0026", True),  # spaced as printed on letters
        ("999-000-0026", True),
        ("9876544321", False),  # common format example; fails modulus 11
        ("9990000027", False),  # wrong check digit
        ("4444444444", False),  # repeated digits pass the checksum but are never issued
        ("943476591", False),  # nine digits
        ("", False),
    ],
)
def test_nhs_number_validity(number, valid):
    assert (_one(canon.nhs_number_canonical, number) is not None) is valid


@pytest.mark.parametrize("digit", "0123456789")
def test_every_repeated_digit_nhs_number_is_rejected(digit):
    assert _one(canon.nhs_number_canonical, digit * 10) is None


@given(st.sampled_from(["9990000026", "9990000018"]), st.sampled_from(["", " ", "-"]))
def test_nhs_number_formatting_variants_are_one_number(number, sep):
    variant = number[:3] + sep + number[3:6] + sep + number[6:]
    assert _one(canon.nhs_number_canonical, variant) == number


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ls6 2ab", "LS6 2AB"),
        ("LS62AB", "LS6 2AB"),
        (" sw1a  1aa ", "SW1A 1AA"),
        ("XX", None),
        ("123 456", None),
    ],
)
def test_postcode_canonical(raw, expected):
    assert _one(canon.postcode_canonical, raw) == expected


@pytest.mark.parametrize(
    "raw, key, place",
    [
        ("ls6 2ab", "LS6 2AB", "LS6 2AB"),
        ("ZZ99 3VZ", None, None),  # the NHS's pseudo-postcode for no fixed abode
        ("zz993cz", None, None),  # England, not otherwise specified
        ("90210", "90210", None),  # a US ZIP code is still a place to linkage
        ("ZZ9 9ZZ", "ZZ9 9ZZ", "ZZ9 9ZZ"),  # a UK shape outside ZZ99
    ],
)
def test_pseudo_postcodes_are_no_place(raw, key, place):
    assert _one(canon.postcode_key, raw) == key
    assert _one(canon.postcode_place, raw) == place


@pytest.mark.parametrize(
    "raw, evidence", [("1900-01-01", None), ("1900-01-02", "1900-01-02"), ("1980-13-01", None)]
)
def test_a_placeholder_dob_is_no_evidence(raw, evidence):
    got = _one(lambda v: canon.dob_evidence(v, "%Y-%m-%d").cast(pl.String), raw)
    assert got == evidence


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Bill", "WILLIAM"),
        ("  mary jane", "MARY"),
        ("José", "JOSE"),
        ("O'Neil", "ONEIL"),
        ("   ", None),
    ],
)
def test_forename_canonical(raw, expected):
    assert _one(canon.forename_canonical, raw) == expected


@pytest.mark.parametrize(
    "raw, ok",
    [
        ("AB123456C", True),
        ("ab 12 34 56 c", True),
        ("ZZ123456A", False),
        ("GB123456A", False),
        ("DA123456A", False),
        ("AB123456E", False),
    ],
)
def test_nino_canonical(raw, ok):
    assert (_one(canon.nino_canonical, raw) is not None) is ok


def test_sex_codes_from_every_partner_map_to_m_or_f():
    df = pl.DataFrame({"v": ["M", "f", "1", "2", "9", "X", "U", None]})
    assert df.select(canon.sex_canonical(pl.col("v")))["v"].to_list() == [
        "M",
        "F",
        "M",
        "F",
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    "raw, forename, surname",
    [
        ("Mrs Ann Smith", "ANN", "SMITH"),
        ("Rt Hon Sir John Smith Jr", "JOHN", "SMITH"),
        ("Captain Jack Hewson", "JACK", "HEWSON"),
        ("Jane Lord", "JANE", "LORD"),  # a title's word after a name is a name
        ("Ann Mary Major", "ANN", "MAJOR"),
        ("Earl Smith", "EARL", "SMITH"),  # a given name as often as a title: kept
        ("Mr", None, None),
    ],
)
def test_titles_are_removed_from_the_front_of_a_name_only(raw, forename, surname):
    words = _one(canon.name_words, raw).to_list()
    assert (words[0] if len(words) > 1 else None, words[-1] if words else None) == (
        forename,
        surname,
    )


def _name_words_by_hand(raw: str, lone_title: bool) -> list[str]:
    """The rule of name_words, word by word in plain Python: leading titles go (all of a
    one-word name stays with lone_title), then a suffix that is the last of two or more words."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    bare = re.sub("[\u2019\u2018\u02bc`\u00b4]", "'", bare)
    words = re.sub(r"[^A-Z']+", " ", bare.upper()).split()
    plain = [w.replace("'", "") for w in words]
    if not (lone_title and len(words) == 1):
        lead = 0
        while lead < len(words) and plain[lead] in canon.TITLES:
            lead += 1
        words, plain = words[lead:], plain[lead:]
    words = words[:-1] if len(words) > 1 and plain[-1] in canon.SUFFIXES else words
    return [] if " ".join(words) in canon.PLACEHOLDER_NAMES else words


_NAME_PARTS = st.sampled_from(
    [
        *canon.TITLES,
        *canon.SUFFIXES,
        "Ann",
        "smith",
        "O'Neil",
        "O\u2019Neil",
        "Si\u00e2n",
        "\u00c9lodie",
        "Sea\u0301n",  # a combining accent as typed, not precomposed
        "lord",
        "Earl",
        "M'RS",
        "jr.",
        "Unknown",
        "not",
        "known",
        "NULL",
    ]
)
_SEPARATORS = st.sampled_from([" ", "  ", "-", ". ", ", ", "'", " - ", "\t"])


@given(
    parts=st.lists(st.tuples(_NAME_PARTS, _SEPARATORS), min_size=1, max_size=6),
    lone_title=st.booleans(),
)
def test_name_words_follow_the_rule_for_any_mix_of_titles_suffixes_and_names(parts, lone_title):
    raw = "".join(word + sep for word, sep in parts)
    words = _one(lambda v: canon.name_words(v, lone_title), raw).to_list()
    assert words == _name_words_by_hand(raw, lone_title)


@pytest.mark.parametrize(
    "written, plain",
    [
        ("Si\u00e2n", "Sian"),
        ("Se\u00e1n Murphy", "Sean Murphy"),
        ("\u00c9lodie Mart\u00ednez", "Elodie Martinez"),
        ("Jos\u00e9 Garc\u00eda L\u00f3pez", "Jose Garcia Lopez"),
        ("P\u00e9rez-Garc\u00eda", "Perez-Garcia"),
        ("Patrick O\u2019Neil", "Patrick O'Neil"),
        ("D\u2018Arcy", "D'Arcy"),
        ("Ann O\u00b4Neil", "Ann O'Neil"),
    ],
)
def test_accents_and_typographic_apostrophes_do_not_split_a_name(written, plain):
    """An accent is part of its letter: "Siân" is one word, SIAN, as "Sian" written without it
    by another partner (before, the mark was read as a space: forename "SIA", and every
    "Élodie" and "Émilie" shared the forename "E"); so is an apostrophe as phones type it."""
    for fn in (canon.name_words, canon.surname_words):
        assert _one(fn, written).to_list() == _one(fn, plain).to_list()
    assert _one(canon.forename_own, written) == _one(canon.forename_own, plain)
    assert len(_one(canon.name_words, written).to_list()) == len(plain.replace("-", " ").split())
    assert _one(canon.address_canonical, "1 Ffordd Glynd\u0175r") == "1 FFORDD GLYNDWR"
    assert _one(canon.forename_own, "\u00c9lodie") != _one(canon.forename_own, "\u00c9milie")


def test_a_surname_that_is_a_title_word_alone_is_kept():
    assert _one(canon.surname_canonical, "Lord") == "LORD"
    assert _one(canon.forename_own, "Mrs") is None


def test_a_name_that_is_only_a_placeholder_is_no_name():
    """ "UNKNOWN UNKNOWN" (an unidentified patient) gives no name tokens at all, so strangers
    recorded so are not joined on it; a real name beside the word keeps both."""
    got = {
        raw: _one(canon.name_words, raw).to_list()
        for raw in ("Unknown", "Mr UNKNOWN", "not known", "Null", "John Unknown", "Nan", "Na")
    }
    assert got["Unknown"] == got["Mr UNKNOWN"] == got["not known"] == got["Null"] == []
    assert got["John Unknown"] == ["JOHN", "UNKNOWN"]
    assert got["Nan"] == ["NAN"] and got["Na"] == ["NA"]  # surnames too
    assert _one(canon.forename_own, "UNKNOWN") is None
    assert _one(canon.surname_canonical, "Unknown") is None
