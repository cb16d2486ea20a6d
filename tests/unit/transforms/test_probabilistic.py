"""Spec tests for the Fellegi-Sunter linker: hand-made pairs of identities go through the
pipeline's own pseudonymisation (a random key), and the linker sees only their tokens."""

import math

import numpy as np
import polars as pl
import pytest

from flows.linkage_evaluate import _extract
from governance.keys import SecretKey
from governance.pseudonymise import apply_policy
from tests.conftest import RUN_DATE
from transforms import blocking
from transforms import probabilistic as fs
from transforms.compare import COMPARISONS, gamma_name
from transforms.link import KEY_COLUMNS

FIELDS = ("forename", "surname", "date_of_birth", "sex", "postcode", "address", "nhs_number")
ANN = {
    "forename": "Ann",
    "surname": "Featherstone",
    "date_of_birth": "1980-01-02",
    "sex": "F",
    "postcode": "LS6 2AB",
    "address": "12 Hyde Park Road",
}


@pytest.fixture
def key():
    """One fixed key: Bloom-filter Dice values depend on the key (folding), so levels near a
    Dice boundary would otherwise differ from run to run."""
    return SecretKey.from_hex("5a" * 32, "spec-test")


def staged(rows: list[dict], key) -> pl.DataFrame:
    frame = pl.DataFrame(
        [{"record_ref": f"R{i}", **{c: r.get(c) for c in FIELDS}} for i, r in enumerate(rows)],
        schema={"record_ref": pl.String, **dict.fromkeys(FIELDS, pl.String)},
    )
    ex, policy = _extract(frame, "t", "%Y-%m-%d")
    return apply_policy(frame, ex, policy, key, RUN_DATE)


def profiles(rows: list[dict], key) -> pl.DataFrame:
    return fs.profiles_of(staged(rows, key))[0]


def first_pair(rows: list[dict], key) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(profiles, the (l, r) pair of the first two rows' profiles)."""
    records = staged(rows, key)
    prof, mapping = fs.profiles_of(records)
    order = records.select("record_key").join(mapping, on="record_key", maintain_order="left")
    p = order["profile"]
    pair = pl.DataFrame({"l": [p[0]], "r": [p[1]]}, schema={"l": pl.UInt32, "r": pl.UInt32})
    return prof, pair


def level(left: dict, right: dict, key, field: str) -> str | None:
    """The named comparison level a pair of raw identities reaches on one field."""
    prof, pair = first_pair([left, right], key)
    g = fs.comparison_vectors(pair, prof)[gamma_name(field)][0]
    return None if g is None else ["disagree", *COMPARISONS[field]][g]


@pytest.mark.parametrize(
    "change, field, expected",
    [
        ({}, "forename", "exact"),
        ({"forename": "Mrs Ann"}, "forename", "exact"),  # titles are removed
        ({"forename": "Dr. ANN"}, "forename", "exact"),
        ({"forename": "Elizabeth"}, "forename", "disagree"),
        ({"forename": None}, "forename", None),  # missing: no evidence
        ({"surname": "Featherstone Jr"}, "surname", "exact"),  # suffixes too
        ({"surname": "Featherstome"}, "surname", "dice_high"),  # a typo
        ({"surname": "Geatherstone"}, "surname", "dice_high"),  # first letter wrong
        ({"surname": "Smith"}, "surname", "disagree"),
        ({"date_of_birth": "1980-02-01"}, "dob", "swapped"),  # day and month swapped
        ({"date_of_birth": "1980-01-03"}, "dob", "one_edit"),  # one digit wrong
        ({"date_of_birth": "1908-01-02"}, "dob", "one_edit"),  # two digits transposed
        ({"date_of_birth": "1980-01-29"}, "dob", "year_month"),
        ({"date_of_birth": "1975-01-02"}, "dob", "month_day"),
        ({"date_of_birth": "1980-07-19"}, "dob", "year"),
        ({"date_of_birth": None}, "dob", None),
        ({"postcode": "LS6 2AD"}, "postcode", "one_edit"),  # one character wrong
        ({"postcode": "LS6 2BA"}, "postcode", "one_edit"),  # two transposed
        ({"postcode": "LS6 2ZZ"}, "postcode", "sector"),
        ({"postcode": "LS6 9ZZ"}, "postcode", "district"),
        ({"postcode": None}, "postcode", None),  # no fixed abode
        ({"address": "12 Hyde Park Rd"}, "address", "dice_75"),
        ({"address": "99 Other Street"}, "address", "disagree"),
    ],
)
def test_comparison_levels(key, change, field, expected):
    assert level(ANN, {**ANN, **change}, key, field) == expected


def test_nickname_is_its_own_level(key):
    bill = {**ANN, "forename": "William", "sex": "M"}
    assert level(bill, {**bill, "forename": "Bill"}, key, "forename") == "nickname"
    assert level(bill, {**bill, "forename": "Bill"}, key, "surname") == "exact"


def test_swapped_names_with_a_typo_are_crossed(key):
    swapped = {**ANN, "forename": "Featherstome", "surname": "Ann"}  # swapped, and a typo
    assert level(ANN, swapped, key, "forename") == "crossed"
    assert level(ANN, swapped, key, "surname") is None  # one event, weighed once


def test_non_uk_postal_codes_have_generic_levels(key):
    us = {**ANN, "postcode": "90210"}
    assert level(us, {**us, "postcode": "90201"}, key, "postcode") == "one_edit"
    assert level(us, {**us, "postcode": "90299"}, key, "postcode") == "district"
    assert level(us, {**us, "postcode": "10001"}, key, "postcode") == "disagree"


def test_names_and_district_alone_are_a_candidate_pair(key):
    """No DOB on either side, different postcodes in one district: still compared."""
    a = {"forename": "Ann", "surname": "Leesome", "postcode": "LS6 2AB"}
    b = {"forename": "Ann", "surname": "Leesome", "postcode": "LS6 7QQ"}
    pairs, _, _ = blocking.candidate_pairs(profiles([a, b], key))
    assert pairs.height == 1
    c = {"forename": "Bob", "surname": "Leesome", "postcode": "LS6 7QQ"}
    assert blocking.candidate_pairs(profiles([a, c], key))[0].is_empty()


def test_records_without_dob_or_postcode_are_compared_on_names(key):
    a = {"forename": "Ann", "surname": "Leesome"}
    b = {"forename": "Ann", "surname": "Leesome", "date_of_birth": "1980-01-02"}
    assert blocking.candidate_pairs(profiles([a, b], key))[0].height == 1


def rules_pairing(a: dict, b: dict, key) -> set[str]:
    """The blocking rules that make the two identities a candidate pair, among a crowd of
    strangers born the same day (as in a city, where DOB alone is too common to block on)."""
    crowd = [
        {
            "forename": f"Zed{chr(97 + i)}",
            "surname": f"Quorn{chr(97 + i)}",
            "date_of_birth": a["date_of_birth"],
            "postcode": "ZZ9 9ZZ",
        }
        for i in range(blocking.RULE_CAPS["dob"] + 1)
    ]
    prof, pair = first_pair([a, b, *crowd], key)
    wanted = pair.select(
        pl.min_horizontal("l", "r").alias("l"), pl.max_horizontal("l", "r").alias("r")
    )
    return {
        name
        for name, rule in blocking.BLOCKING_RULES.items()
        if not blocking.block(prof, rule, blocking.RULE_CAPS.get(name))[0]
        .join(wanted, on=["l", "r"])
        .is_empty()
    }


def test_a_nickname_with_a_misspelt_surname_meets_on_dob(key):
    """Dave and David (different Soundex codes), the surname's first letter wrong, sex missing on
    one side, a move: only DOB with the nickname-canonical forename brings them together."""
    a = {"forename": "David", "surname": "Baxendale", "date_of_birth": "1957-10-31",
         "sex": "M", "postcode": "LS23 1DP"}  # fmt: skip
    b = {"forename": "Dave", "surname": "Raxendale", "date_of_birth": "1957-10-31",
         "postcode": "BD20 9BQ"}  # fmt: skip
    assert rules_pairing(a, b, key) == {"dob_nickname"}
    assert rules_pairing(a, {**b, "date_of_birth": "1957-10-30"}, key) == set()


@pytest.mark.parametrize("order", ["as given", "reversed"])
def test_swapped_names_with_a_typo_and_no_sex_meet_on_dob(key, order):
    """Names the wrong way round, one of them misspelt, sex missing, a move: a forename spelt as
    the other record's surname, with the DOB, pairs them whichever record comes first."""
    a = {"forename": "Mitchell", "surname": "Slater", "date_of_birth": "1986-05-08",
         "sex": "M", "postcode": "LS21 3QJ"}  # fmt: skip
    b = {"forename": "Slter", "surname": "Mitchell", "date_of_birth": "1986-05-08",
         "postcode": "BD14 1BX"}  # fmt: skip
    pair = (a, b) if order == "as given" else (b, a)
    assert rules_pairing(*pair, key) == {"dob_crossed"}
    other_day = {**pair[1], "date_of_birth": "1986-05-09"}
    assert rules_pairing(pair[0], other_day, key) == set()


def test_a_one_way_rule_pairs_each_pair_once_in_order():
    """dob_crossed is not symmetric (my forename is your surname): each pair is found from
    either side, reported once, smaller profile first; a profile never pairs with itself."""
    prof = pl.DataFrame(
        {
            "profile": [0, 1, 2, 3],
            "tok_f_dob": ["d", "d", "d", "d"],
            "tok_f_fn": ["x", "y", "x", "z"],
            "tok_f_sn": ["y", "x", "x", None],
        }
    )
    pairs, _ = blocking.block(prof, blocking.BLOCKING_RULES["dob_crossed"])
    assert sorted(pairs.rows()) == [(0, 1), (0, 2), (1, 2)]


@pytest.mark.parametrize("rule", ["dob_crossed", "names_crossed"])
def test_a_crossed_block_is_capped_on_either_side(rule):
    """One record named the wrong way round against a crowd named the right way: the block's
    two sides are different profiles, and a side past the cap skips the block (counted), so a
    crossed rule can never make more than cap x cap pairs."""
    cap = 5
    crowd = [{"tok_f_fn": "john", "tok_f_sn": "smith"} for _ in range(cap + 1)]
    swapped = {"tok_f_fn": "smith", "tok_f_sn": "john"}
    rows = [swapped, *crowd]
    prof = pl.DataFrame(
        {
            "profile": list(range(len(rows))),
            "tok_f_dob": ["d"] * len(rows),
            "tok_f_fn": [r["tok_f_fn"] for r in rows],
            "tok_f_sn": [r["tok_f_sn"] for r in rows],
        }
    )
    pairs, skipped = blocking.block(prof, blocking.BLOCKING_RULES[rule], max_block=cap)
    assert pairs.is_empty() and skipped >= 1
    pairs, skipped = blocking.block(prof.head(cap + 1), blocking.BLOCKING_RULES[rule], cap)
    assert pairs.height == cap and skipped == 0  # within the cap: the swapped one meets each


def test_blocking_pairs_only_profiles_sharing_every_token_of_the_rule():
    prof = pl.DataFrame(
        {"profile": [0, 1, 2, 3], "d": ["d1", "d1", "d2", None], "s": ["s1", None, None, None]},
        schema={"profile": pl.UInt32, "d": pl.String, "s": pl.String},
    )
    pairs, skipped = blocking.block(prof, ("d",))
    assert pairs.rows() == [(0, 1)] and skipped == 0
    assert blocking.block(prof, ("d", "s"))[0].is_empty()


def test_oversized_blocks_are_skipped_and_counted():
    prof = pl.DataFrame(
        {"profile": list(range(5)), "d": ["d", "d", "d", "e", "e"]},
        schema={"profile": pl.UInt32, "d": pl.String},
    )
    pairs, skipped = blocking.block(prof, ("d",), max_block=2)
    assert pairs.rows() == [(3, 4)] and skipped == 1


def _model(m_agree=0.9, prior=0.2):
    m = {f: [1 - m_agree] + [m_agree / len(v)] * len(v) for f, v in COMPARISONS.items()}
    u = {f: [0.9] + [0.1 / len(v)] * len(v) for f, v in COMPARISONS.items()}
    return fs.Model(m, u, prior=prior)


def _scored(rows, key, model, tf=True):
    prof, pairs = first_pair(rows, key)
    g = fs.comparison_vectors(pairs, prof)
    return fs.score(g, model, fs.term_frequencies(prof) if tf else {})


def test_weight_is_prior_log_odds_plus_sum_of_log_m_over_u(key):
    model = _model()
    got = _scored([ANN, ANN], key, model, tf=False)["match_weight"][0]
    present = ("forename", "surname", "dob", "sex", "postcode", "address")
    expected = math.log2(0.2 / 0.8) + sum(model.weight(f, 1) for f in present)
    assert got == pytest.approx(expected)


def test_different_nhs_numbers_are_a_conflict_that_scores_minus_infinity(key):
    rows = [{**ANN, "nhs_number": "9990000018"}, {**ANN, "nhs_number": "9990000026"}]
    scored = _scored(rows, key, _model())
    assert scored["id_conflict"][0] and scored["match_weight"][0] == float("-inf")


def _letters(i: int) -> str:
    return "Zed" + "".join(chr(65 + (i // 26**k) % 26) for k in range(3)).lower()


def _names_only_pair(forename: str, surname: str, crowd: int) -> list[dict]:
    """Two records agreeing on both names and nothing else known, among `crowd` others who
    share the names (a common name) or not (a rare one)."""
    pair = [
        {"forename": forename, "surname": surname, "sex": "F"},
        {"forename": forename, "surname": surname},
    ]
    others = [
        {
            "forename": forename if i < crowd else _letters(i),
            "surname": surname if i < crowd else _letters(i) + "son",
            "sex": "M",
            "date_of_birth": f"19{50 + i % 50}-01-{1 + i // 50:02d}",  # distinct people
        }
        for i in range(400)
    ]
    return pair + others


@pytest.mark.parametrize("crowd, links", [(0, True), (300, False)])
def test_names_only_pair_links_when_rare_and_not_when_common(key, crowd, links):
    rows = _names_only_pair(
        "Quillon" if crowd == 0 else "John", "Vantreight" if crowd == 0 else "Smith", crowd
    )
    prof, pairs = first_pair(rows, key)
    n = prof.height
    # a population in which every other profile has one duplicate: n / 2 matching pairs
    m = {f: [0.05] + [0.95] + [0.0] * (len(v) - 1) for f, v in COMPARISONS.items()}
    m = {f: [max(x, 1e-6) for x in v] for f, v in m.items()}
    u = fs.estimate_u(prof, 20_000)
    model = fs.Model(m, u, prior=(n / 2) / (n * (n - 1) / 2))
    p = fs.score(fs.comparison_vectors(pairs, prof), model, fs.term_frequencies(prof))
    assert (p["match_probability"][0] >= 0.9) is links


def test_scoring_a_chunk_at_a_time_scores_every_pair_as_scoring_them_at_once(key):
    """The build scores its comparison vectors a chunk at a time (memory); chunks of 1, 3 and
    more than all pairs give each pair the same weight and probability as one call of score."""
    rows = [{**ANN, "forename": name} for name in ("Ann", "Anne", "Anna", "Ann", "Hannah")]
    rows += [{**ANN, "surname": name, "postcode": None} for name in ("Feather", "Stone")]
    prof = profiles(rows, key)
    n = prof.height
    assert n > 4
    pairs = pl.DataFrame(
        [(i, j) for i in range(n) for j in range(i + 1, n)],
        schema={"l": pl.UInt32, "r": pl.UInt32},
        orient="row",
    )
    g = fs.comparison_vectors(pairs, prof)
    tf = fs.term_frequencies(prof)
    whole = fs.score(g, _model(), tf).select(fs.SCORED).sort("l", "r")
    assert whole.height == pairs.height and whole["match_weight"].n_unique() > 2
    for chunk in (1, 3, pairs.height + 1):
        assert fs.scores(g, _model(), tf, chunk=chunk).sort("l", "r").equals(whole)


def test_em_recovers_m_from_unlabelled_pairs():
    rng = np.random.default_rng(3)
    true_m = {f: [0.05] + [0.95] + [0.0] * (len(v) - 1) for f, v in COMPARISONS.items()}
    u = {f: [0.95] + [0.05] + [1e-6] * (len(v) - 1) for f, v in COMPARISONS.items()}

    def draw(dist, n):
        return {
            gamma_name(f): rng.choice(len(p), n, p=np.array(p) / sum(p)) for f, p in dist.items()
        }

    matches, non = draw(true_m, 3_000), draw(u, 7_000)
    g = pl.DataFrame(
        {k: np.concatenate([matches[k], non[k]]).astype(np.int8) for k in matches}
    ).with_columns(id_conflict=pl.lit(False))
    m, prior, _ = fs._em(g, fs.initial_m(), u, 0.5, set(COMPARISONS), True)
    assert prior == pytest.approx(0.3, abs=0.02)
    for f in COMPARISONS:
        assert m[f][1] == pytest.approx(0.95, abs=0.03)


def test_em_with_m_fixed_finds_the_prior_not_a_cap():
    """The prior among candidates is estimated, not stuck at a bound (the old 0.999 cap)."""
    rng = np.random.default_rng(5)
    m = {f: [0.05, 0.95] + [1e-6] * (len(v) - 1) for f, v in COMPARISONS.items()}
    u = {f: [0.95, 0.05] + [1e-6] * (len(v) - 1) for f, v in COMPARISONS.items()}
    rows = {}
    for f in COMPARISONS:
        rows[gamma_name(f)] = np.concatenate(
            [rng.choice(2, 500, p=[0.05, 0.95]), rng.choice(2, 9_500, p=[0.95, 0.05])]
        ).astype(np.int8)
    g = pl.DataFrame(rows).with_columns(id_conflict=pl.lit(False))
    _, prior, _ = fs._em(g, m, u, 0.5, set(COMPARISONS), False)
    assert prior == pytest.approx(0.05, abs=0.01)


def test_threshold_from_the_model_reports_expected_quality():
    probs = pl.Series([0.999] * 90 + [0.6] * 10 + [0.01] * 100)
    threshold, expected = fs.choose_threshold(probs)
    assert threshold in fs.THRESHOLDS
    assert 0.9 < expected["precision"] <= 1 and 0.9 < expected["recall"] <= 1
    assert fs.expected_quality(probs, 0.999)["recall"] < fs.expected_quality(probs, 0.5)["recall"]


def _link_input(key) -> pl.DataFrame:
    """A rare names-only pair and a crowd of Anns, as link_records takes them: every token
    column, null where the extract has none."""
    from transforms.link import TOKEN_COLUMNS

    rows = _names_only_pair("Quillon", "Vantreight", 0)
    rows += [{**ANN, "forename": name} for name in ("Ann", "Anne", "Anna", "Ann", "Hannah")]
    records = staged(rows, key)
    return records.select(
        "record_key",
        *[
            pl.col(c) if c in records.columns else pl.lit(None, pl.String).alias(c)
            for c in TOKEN_COLUMNS
        ],
    )


def test_linkage_does_not_depend_on_the_order_records_arrive_in(key):
    """The same records in another order give the same persons, links and pair table (partners'
    files arrive in any order; the pair table is compared night to night)."""
    from transforms.link import link_records

    records = _link_input(key)
    first = link_records(records, key=key)
    again = link_records(records.reverse(), key=key)
    assert first.pairs.height > 0 and first.links["person_id"].n_unique() < records.height
    assert first.links.equals(again.links)
    assert first.pairs.equals(again.pairs)


def test_a_night_that_takes_the_tokens_links_as_one_that_keeps_them(key):
    """The build passes codes and lets the linker drop them once profiled (take_tokens): the
    links, pairs and model are the same as when the caller keeps them."""
    from transforms.link import as_codes, link_records

    records = _link_input(key)
    kept = link_records(as_codes(records), key=key)
    coded = as_codes(records)
    taken = link_records(coded, key=key, take_tokens=True)
    assert kept.pairs.filter(pl.col("rule") == "fs").height > 0
    assert taken.links.equals(kept.links) and taken.pairs.equals(kept.pairs)
    assert taken.model is not None and kept.model is not None
    assert taken.model.threshold == kept.model.threshold
    assert coded.columns == ["record_key"]


def test_placeholder_dob_and_pseudo_postcode_are_no_evidence(key):
    """Namesakes of no fixed abode (the NHS pseudo-postcode ZZ99 3VZ) with the default DOB
    1 January 1900 that many systems write for "unknown": linkage treats both as missing, so no
    DOB or postcode token and no match key joins them (mk12, names and postcode, did). The same
    records with a real DOB and postcode still share them."""
    ann = {"forename": "Ann", "surname": "Featherstone", "sex": "F"}
    unknown = {**ann, "date_of_birth": "1900-01-01", "postcode": "zz99 3vz"}
    known = {**ann, "date_of_birth": "1980-01-02", "postcode": "LS6 2AB"}
    rows = staged([unknown, {**unknown, "postcode": "ZZ993VZ"}, known, known], key)
    place = [c for c in rows.columns if c.startswith(("tok_f_dob", "tok_f_pc", "tok_f_yob"))]
    place += ["tok_f_sector", "tok_f_district"]
    with_unknowns, with_real = rows[:2], rows[2:]
    assert with_unknowns.select(place).null_count().row(0) == (2,) * len(place)
    core = ["tok_f_dob", "tok_f_yob", "tok_f_pc", "tok_f_sector", "tok_f_district"]
    assert with_real.select(core).null_count().row(0) == (0,) * len(core)
    shared = [c for c in KEY_COLUMNS if c in rows.columns and with_unknowns[c].n_unique() == 1]
    assert [c for c in shared if with_unknowns[c][0] is not None] == []
    assert with_real["tok_mk1"].n_unique() == 1 and with_real["tok_mk1"][0] is not None


@pytest.mark.parametrize(
    "change, conflict",
    [
        ({"forename": "Mary", "date_of_birth": "2004-06-30"}, True),  # her daughter
        ({"forename": "Mary"}, False),  # a twin: the DOB agrees
        ({"date_of_birth": "2004-06-30"}, False),  # the forename agrees
        ({"forename": "Anne", "date_of_birth": "2004-06-30"}, False),  # a typo: a level holds
        ({"forename": "Mary", "date_of_birth": "1980-07-19"}, False),  # the year agrees
        ({"forename": "Mary", "date_of_birth": None}, False),  # no DOB: no evidence
    ],
)
def test_a_forename_and_dob_that_both_disagree_are_a_person_conflict(key, change, conflict):
    prof, pair = first_pair([ANN, {**ANN, **change}], key)
    assert fs.score(fs.comparison_vectors(pair, prof), _model(), {})["person_conflict"][0] is (
        conflict
    )


def test_a_household_member_with_records_of_her_own_is_not_joined_to_another():
    """A mother (profiles 0 and 1) and her son (2) at one address: the son's pairs with her
    agree on surname, postcode and address only (forename and DOB both disagree) and are
    dropped, since both have a partner of their own. A lone such pair (3, 4: one record with
    both wrong, as FEBRL's generator makes duplicates) is kept."""
    from transforms.link import household_joins_dropped

    accepted = pl.DataFrame(
        {
            "l": [0, 0, 1, 2, 3],
            "r": [1, 2, 2, 5, 4],
            "match_probability": [0.99, 0.9, 0.9, 0.99, 0.9],
            "person_conflict": [False, True, True, False, True],
        }
    )
    kept = household_joins_dropped(accepted)
    assert kept.select("l", "r").rows() == [(0, 1), (2, 5), (3, 4)]
    assert "person_conflict" not in kept.columns
