"""Canonical forms of identifiers, as polars expressions, so one person's variants hash alike.

Each function takes the raw column expression and returns the canonical expression; a value
that cannot be made canonical becomes null (and is never hashed).
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache

import jellyfish
import nicknames
import polars as pl

from schemas.formats import NINO_NEVER_ALLOCATED, NINO_PATTERN, POSTCODE_PATTERN

# Common English nicknames and short forms, mapped to one formal name (ONS-style
# name standardisation). Both variants of a person then give the same forename token.
NICKNAMES = {
    "BILL": "WILLIAM",
    "BILLY": "WILLIAM",
    "WILL": "WILLIAM",
    "LIAM": "WILLIAM",
    "BOB": "ROBERT",
    "BOBBY": "ROBERT",
    "ROB": "ROBERT",
    "ROBBIE": "ROBERT",
    "JIM": "JAMES",
    "JIMMY": "JAMES",
    "JAMIE": "JAMES",
    "MIKE": "MICHAEL",
    "MICK": "MICHAEL",
    "DAVE": "DAVID",
    "DAVY": "DAVID",
    "TOM": "THOMAS",
    "TOMMY": "THOMAS",
    "CHRIS": "CHRISTOPHER",
    "DAN": "DANIEL",
    "DANNY": "DANIEL",
    "MATT": "MATTHEW",
    "JOE": "JOSEPH",
    "JOEY": "JOSEPH",
    "TONY": "ANTHONY",
    "STEVE": "STEPHEN",
    "STEVEN": "STEPHEN",
    "ANDY": "ANDREW",
    "DREW": "ANDREW",
    "NICK": "NICHOLAS",
    "ALEX": "ALEXANDER",
    "SAM": "SAMUEL",
    "BEN": "BENJAMIN",
    "HARRY": "HENRY",
    "JACK": "JOHN",
    "JOHNNY": "JOHN",
    "JON": "JOHN",
    "PETE": "PETER",
    "RICH": "RICHARD",
    "RICK": "RICHARD",
    "DICK": "RICHARD",
    "ED": "EDWARD",
    "EDDIE": "EDWARD",
    "TED": "EDWARD",
    "KATE": "KATHERINE",
    "KATIE": "KATHERINE",
    "KATHY": "KATHERINE",
    "CATHERINE": "KATHERINE",
    "LIZ": "ELIZABETH",
    "BETH": "ELIZABETH",
    "LIZZIE": "ELIZABETH",
    "BETTY": "ELIZABETH",
    "MAGGIE": "MARGARET",
    "MEG": "MARGARET",
    "PEGGY": "MARGARET",
    "JENNY": "JENNIFER",
    "JEN": "JENNIFER",
    "SUE": "SUSAN",
    "SUZY": "SUSAN",
    "BECKY": "REBECCA",
    "BEX": "REBECCA",
    "VICKY": "VICTORIA",
    "VIC": "VICTORIA",
    "MANDY": "AMANDA",
    "SANDY": "ALEXANDRA",
    "ABBIE": "ABIGAIL",
    "ABBY": "ABIGAIL",
    "ELLIE": "ELEANOR",
    "NELL": "ELEANOR",
    "DEBBIE": "DEBORAH",
    "DEB": "DEBORAH",
    "PAM": "PAMELA",
    "SAL": "SALLY",
    "CHARLIE": "CHARLES",
    "CHAS": "CHARLES",
    "FRED": "FREDERICK",
    "FREDDIE": "FREDERICK",
    "GEORGIE": "GEORGINA",
    "JESS": "JESSICA",
    "JESSIE": "JESSICA",
    "NATASHA": "NATALIE",
    "NAT": "NATALIE",
}


# Titles and honorifics, removed from the front of names before anything is hashed (a title
# says nothing about who someone is, and "Mrs" is no forename); only in front, so a surname that
# is also a title stays ("Jane Lord"). Words that are often given names too (Earl, Duke, Prince,
# Baron, Major) are not listed: "Earl Smith" is a forename. Post-nominal suffixes, at the end.
TITLES = (
    "MR", "MRS", "MS", "MISS", "MX", "MSTR", "MASTER", "DR", "DOCTOR", "PROF", "PROFESSOR",
    "REV", "REVD", "REVEREND", "FR", "FATHER", "SIR", "DAME", "LADY", "LORD", "CAPT", "CPT",
    "CAPTAIN", "MAJ", "COL", "COLONEL", "LT", "LIEUTENANT", "SGT", "SERGEANT", "CPL", "CORPORAL",
    "BRIG", "BRIGADIER", "ADM", "ADMIRAL", "CLLR", "COUNCILLOR", "HON", "RT", "BARONESS",
    "VISCOUNT", "VISCOUNTESS", "COUNTESS", "MARQUESS", "MARCHIONESS",
)  # fmt: skip
SUFFIXES = ("JR", "JNR", "SR", "SNR", "II", "III", "IV", "PHD", "ESQ", "MBE", "OBE", "CBE")


# What record systems write where nobody's name is known (an unidentified patient in A&E is
# often "UNKNOWN UNKNOWN"): a name that is only this is no name, so two strangers recorded so
# with one date of birth do not share name tokens and are not joined by the names-and-DOB
# match keys. Only the whole name: "John Unknown" keeps both words. Not "NA" or "NAN", which
# are surnames too.
PLACEHOLDER_NAMES = (
    "UNKNOWN", "NOT KNOWN", "NOTKNOWN", "NOT GIVEN", "NOT STATED", "NULL", "NONE", "UNK",
    "ANONYMOUS", "XXX", "ZZZ",
)  # fmt: skip


def _any_apostrophes(words: tuple[str, ...]) -> str:
    """A regex alternation of words as spelt with apostrophes anywhere ("M'RS" is MRS), longest
    first."""
    return "|".join("'*" + "'*".join(w) + "'*" for w in sorted(words, key=len, reverse=True))


_LEADING_TITLES = rf"^(?:(?:{_any_apostrophes(TITLES)})(?: +|$))+"
_TRAILING_SUFFIX = rf" +(?:{_any_apostrophes(SUFFIXES)})$"


# Apostrophes as word processors and phones type them (’ ‘ ʼ), and as typed on keyboards
# without one (` ´): one apostrophe, so "O’Neil" is "O'Neil" and not "O" and "Neil".
APOSTROPHES = "[\u2019\u2018\u02bc`\u00b4]"


def _without_marks(raw: pl.Expr) -> pl.Expr:
    """Letters with their accents taken off (NFKD, then the combining marks removed): "Siân"
    is SIAN, not "SIA" and "N" (a mark read as a space split the word, and the first word is
    the forename token)."""
    return raw.str.normalize("NFKD").str.replace_all(r"\p{M}+", "")


def name_words(raw: pl.Expr, lone_title: bool = False) -> pl.Expr:
    """A name's words (upper case, letters and apostrophes), leading titles and a trailing
    suffix removed ("Rt Hon Sir John Smith Jr" -> JOHN SMITH; "Jane Lord" keeps LORD); none for
    a name that is only a placeholder (PLACEHOLDER_NAMES: "Unknown", "Not known").

    With lone_title a name that is nothing but a title word is kept ("Lord" is a surname too).
    Two regular expressions on the whole text: ten times faster than a filter over each name's
    list of words, with the same words out (docs/benchmarks.md, session 25).
    """
    text = (
        _without_marks(raw.str.replace_all(APOSTROPHES, "'"))  # before: NFKD makes ´ a space
        .str.to_uppercase()
        .str.replace_all(r"[^A-Z']+", " ")
        .str.strip_chars()
    )
    stripped = text.str.replace(_LEADING_TITLES, "")
    if lone_title:
        stripped = pl.when(text.str.contains(" ", literal=True)).then(stripped).otherwise(text)
    name = stripped.str.replace(_TRAILING_SUFFIX, "")
    name = pl.when(name.is_in(PLACEHOLDER_NAMES)).then(pl.lit("")).otherwise(name)
    return name.str.extract_all(r"[A-Z']+")


def name_canonical(raw: pl.Expr) -> pl.Expr:
    """Upper case, accents stripped, letters only (hyphens, apostrophes, spaces removed)."""
    text = raw.str.normalize("NFKD").str.replace_all(r"[^A-Za-z]", "").str.to_uppercase()
    return pl.when(text.str.len_chars() > 0).then(text)


def surname_words(raw: pl.Expr) -> pl.Expr:
    """A surname's words (name_words; a surname that is only a title word is kept)."""
    return name_words(raw, lone_title=True)


def surname_canonical(raw: pl.Expr, words: pl.Expr | None = None) -> pl.Expr:
    """The whole surname, canonical, titles and suffixes removed ("Smith Jr" -> SMITH).

    words: surname_words(raw) where already made."""
    return name_canonical((surname_words(raw) if words is None else words).list.join(""))


def forename_own(raw: pl.Expr) -> pl.Expr:
    """First given name as spelt, canonical, titles removed ("Mrs Ann" -> ANN)."""
    return name_canonical(name_words(raw).list.first())


def forename_canonical(raw: pl.Expr) -> pl.Expr:
    """First given name only, canonical, with nicknames mapped to one formal name."""
    return forename_own(raw).replace(nickname_table())


@cache
def nickname_table() -> dict[str, str]:
    """Forename -> one canonical formal name: the `nicknames` package's table, then ours.

    The package's relation is many-to-many (MOLLY is short for MARY and MARIETTA, AL for
    ALBERT, ALFRED, ALAN...), so a short form goes to the shortest of its formal names (the
    everyday one: MARY, HENRY), ties to the one with more nicknames, then alphabetical; both
    spellings then share one canonical token. A name the package lists with nicknames of its own is
    kept as it is (ANN, JOHN, JEAN are names, not short forms). Our UK short forms (NICKNAMES)
    take precedence.
    """
    formal_of: dict[str, set[str]] = {}
    count: dict[str, int] = {}
    with nicknames.with_names_csv_path() as path, path.open() as fh:
        for row in csv.DictReader(fh):
            formal, nick = row["name1"].upper(), row["name2"].upper()
            if not (formal.isalpha() and nick.isalpha()):
                continue
            formal_of.setdefault(nick, set()).add(formal)
            count[formal] = count.get(formal, 0) + 1
    table = {}
    for nick, formals in formal_of.items():
        best = min(formals, key=lambda f: (len(f), -count.get(f, 0), f))
        if nick not in count:
            table[nick] = best
    table.update(NICKNAMES)
    # one step only: a formal name is never itself mapped on
    return {k: table.get(v, v) if table.get(v, v) != k else v for k, v in table.items()}


def per_distinct(raw: pl.Expr, fn) -> pl.Expr:
    """fn(raw) computed once per distinct raw value (names repeat: a few thousand distinct
    values stand for a million rows), then mapped back to every row."""

    def run(s: pl.Series) -> pl.Series:
        distinct = s.drop_nulls().unique()
        out = distinct.to_frame("v").select(fn(pl.col("v")).cast(pl.String)).to_series()
        return s.replace_strict(distinct, out, default=None, return_dtype=pl.String)

    return raw.cast(pl.String).map_batches(run, return_dtype=pl.String)


def _nysiis_values(s: pl.Series) -> pl.Series:
    distinct = s.drop_nulls().unique()
    codes = [jellyfish.nysiis(v) or None for v in distinct.to_list()]
    return s.replace_strict(distinct, pl.Series(codes, dtype=pl.String), default=None)


def nysiis(name: pl.Expr) -> pl.Expr:
    """NYSIIS phonetic code of a canonical name (each distinct name coded once)."""
    return name.map_batches(_nysiis_values, return_dtype=pl.String)


def surname_parts(words: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """First and last part of a hyphenated or double-barrelled surname, from its words
    (surname_words)."""
    return name_canonical(words.list.first()), name_canonical(words.list.last())


# Values that systems write when they do not know, and that two strangers then share: linkage
# treats them as missing (an agreement on one is no evidence). A date of birth of 1 January 1900
# is the default of many record systems (SQL Server's first date, the contracts' EARLIEST_DATE);
# postcodes of the outward code ZZ99 are health data sets' pseudo-postcodes (ZZ99 3VZ no fixed
# abode, ZZ99 3CZ England not otherwise specified, ZZ99 3WZ Wales...), which are not places.
# Analysts' postcode districts keep them (a "ZZ99" district counts people of no fixed abode);
# a placeholder DOB has no age band.
PLACEHOLDER_DOBS = (dt.date(1900, 1, 1),)
PSEUDO_POSTCODE_OUTWARD = "ZZ99"


def dob_canonical(raw: pl.Expr, date_format: str | None) -> pl.Expr:
    """A date parsed with the contract's format; impossible dates become null."""
    return raw.str.strip_chars().str.to_date(date_format, strict=False)


def dob_evidence(raw: pl.Expr, date_format: str | None) -> pl.Expr:
    """The date of birth as linkage compares it: null when impossible or a placeholder."""
    dob = dob_canonical(raw, date_format)
    return pl.when(~dob.is_in(PLACEHOLDER_DOBS)).then(dob)


def sex_canonical(raw: pl.Expr) -> pl.Expr:
    """M or F from the codes partners use (M/F, MALE/FEMALE, ECDS 1/2); otherwise null."""
    code = raw.str.strip_chars().str.to_uppercase()
    return code.replace_strict(
        {"M": "M", "MALE": "M", "1": "M", "F": "F", "FEMALE": "F", "2": "F"},
        default=None,
        return_dtype=pl.String,
    )


def postcode_canonical(raw: pl.Expr) -> pl.Expr:
    """Upper case with one space before the inward code; not a valid shape -> null."""
    compact = raw.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    spaced = compact.str.head(-3) + pl.lit(" ") + compact.str.tail(3)
    return pl.when(spaced.str.contains(POSTCODE_PATTERN)).then(spaced)


def _place(uk: pl.Expr) -> pl.Expr:
    """A canonical UK postcode, null when it is a pseudo-postcode (ZZ99)."""
    return pl.when(~uk.str.starts_with(PSEUDO_POSTCODE_OUTWARD + " ")).then(uk)


def postcode_place(raw: pl.Expr) -> pl.Expr:
    """The UK canonical postcode when it names a place: null for a pseudo-postcode (ZZ99)."""
    return _place(postcode_canonical(raw))


def postcode_key(raw: pl.Expr) -> pl.Expr:
    """The postcode as linkage compares it: the UK canonical form when it has a UK shape, else
    its letters and digits upper-cased (a non-UK postal code); null for a pseudo-postcode,
    which is not a place. Never used for publishing."""
    compact = raw.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    uk = postcode_canonical(raw)
    return (
        pl.when(uk.is_not_null())
        .then(_place(uk))  # the canonical form made once
        .when(compact.str.len_chars() >= 3)
        .then(compact)
    )


def address_canonical(raw: pl.Expr) -> pl.Expr:
    """Address lines: upper case, letters and digits, single spaces; empty -> null."""
    text = (
        _without_marks(raw).str.to_uppercase().str.replace_all(r"[^A-Z0-9]+", " ").str.strip_chars()
    )
    return pl.when(text.str.len_chars() > 0).then(text)


def other_id_canonical(raw: pl.Expr) -> pl.Expr:
    """Any other identifier: letters and digits, upper case."""
    text = raw.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return pl.when(text.str.len_chars() > 0).then(text)


def postcode_sector(canonical: pl.Expr) -> pl.Expr:
    """Outward code plus the first inward digit, e.g. 'LS6 2'."""
    return canonical.str.head(-2)


def postcode_district(canonical: pl.Expr) -> pl.Expr:
    """Outward code, e.g. 'LS6'."""
    return canonical.str.split(" ").list.first()


def nhs_number_digits(raw: pl.Expr) -> pl.Expr:
    """Digits only, so '999 000 0026' and '999-000-0026' are one number."""
    return raw.str.replace_all(r"[^0-9]", "")


def nhs_number_valid(digits: pl.Expr) -> pl.Expr:
    """Ten digits, modulus 11 check digit right, and not one digit repeated."""
    total = pl.sum_horizontal(
        digits.str.slice(i, 1).cast(pl.Int32, strict=False) * (10 - i) for i in range(9)
    )
    check = (11 - total % 11) % 11
    last = digits.str.slice(9, 1).cast(pl.Int32, strict=False)
    repeated = digits.str.contains(
        r"^(0{10}|1{10}|2{10}|3{10}|4{10}|5{10}|6{10}|7{10}|8{10}|9{10})$"
    )
    return (
        digits.str.contains(r"^[0-9]{10}$") & (check != 10) & (check == last) & ~repeated
    ).fill_null(False)


def nhs_number_canonical(raw: pl.Expr) -> pl.Expr:
    digits = nhs_number_digits(raw)
    return pl.when(nhs_number_valid(digits)).then(digits)


def nino_canonical(raw: pl.Expr) -> pl.Expr:
    """Upper case, no spaces; a NINO that cannot be allocated becomes null."""
    text = raw.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    ok = text.str.contains(NINO_PATTERN) & ~text.str.slice(0, 2).is_in(NINO_NEVER_ALLOCATED)
    return pl.when(ok).then(text)


SOUNDEX_CODES = {
    **dict.fromkeys("BFPV", "1"),
    **dict.fromkeys("CGJKQSXZ", "2"),
    **dict.fromkeys("DT", "3"),
    "L": "4",
    **dict.fromkeys("MN", "5"),
    "R": "6",
    **dict.fromkeys("AEIOUY", "0"),
    **dict.fromkeys("HW", ""),
}


def soundex(name: pl.Expr) -> pl.Expr:
    """American Soundex of a canonical (upper-case letters only) name, e.g. ROBERT -> R163.

    Letters become digits (vowels 0, H and W nothing), runs of one digit collapse to one, the
    first letter is kept as a letter, vowel markers are dropped, and the code is cut or padded
    to four characters.
    """
    digits = name.str.replace_many(list(SOUNDEX_CODES), list(SOUNDEX_CODES.values()))
    for d in "0123456":
        digits = digits.str.replace_all(f"{d}+", d)
    rest = digits.str.slice(1).str.replace_all("0", "")
    code = (name.str.head(1) + rest + pl.lit("000")).str.head(4)
    return pl.when(name.str.len_chars() > 0).then(code)
