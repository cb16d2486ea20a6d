"""Spec tests for the Fellegi-Sunter linker: tokens are stand-in strings here (the linker only
ever compares tokens for equality, so any distinct strings behave like keyed tokens)."""

import math

import numpy as np
import polars as pl
import pytest

from transforms import probabilistic as fs


def _profiles(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows)
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in fs.PROFILE_COLUMNS if c not in frame.columns
    )
    return (
        frame.select(fs.PROFILE_COLUMNS)
        .with_columns(n=pl.lit(1, pl.UInt32))
        .with_row_index("profile")
    )


ANN = {
    "tok_f_fn": "ANN",
    "tok_f_fn_ph": "A500",
    "tok_f_fn3": "ANN",
    "tok_f_sn": "LEE",
    "tok_f_sn_ph": "L000",
    "tok_f_sn3": "LEE",
    "tok_f_dob": "1980-01-02",
    "tok_f_dob_swap": "1980-02-01",
    "tok_f_yob": "1980",
    "tok_f_sex": "F",
    "tok_f_pc": "LS1 1AA",
    "tok_f_sector": "LS1 1",
    "tok_f_district": "LS1",
}


def test_blocking_pairs_only_profiles_sharing_every_token_of_the_rule():
    profiles = _profiles(
        [
            {"tok_f_dob": "d1", "tok_f_sn": "s1"},
            {"tok_f_dob": "d1"},
            {"tok_f_dob": "d2"},
            {"tok_f_dob": None},
        ]
    )
    pairs, skipped = fs.block(profiles, ("tok_f_dob",))
    assert pairs.rows() == [(0, 1)] and skipped == 0
    assert fs.block(profiles, ("tok_f_dob", "tok_f_sn"))[0].is_empty()


def test_oversized_blocks_are_skipped_and_counted(monkeypatch):
    monkeypatch.setattr(fs, "MAX_BLOCK", 2)
    profiles = _profiles([{"tok_f_dob": "d"}] * 3 + [{"tok_f_dob": "e"}] * 2)
    pairs, skipped = fs.block(profiles, ("tok_f_dob",))
    assert pairs.rows() == [(3, 4)] and skipped == 1


@pytest.mark.parametrize(
    "change, field, level",
    [
        ({}, "forename", 1),
        ({"tok_f_fn": "ANNIKA", "tok_f_fn_ph": "A520"}, "forename", 4),  # prefix only
        ({"tok_f_fn": "AN", "tok_f_fn3": "AN"}, "forename", 3),  # Soundex only
        ({"tok_f_fn": "XAVIER", "tok_f_fn_ph": "X160", "tok_f_fn3": "XAV"}, "forename", 0),
        ({"tok_f_fn": None}, "forename", None),  # missing: no evidence
        ({"tok_f_dob": "1980-02-01", "tok_f_dob_swap": "1980-01-02"}, "dob", 2),  # day/month swap
        ({"tok_f_dob": "1980-05-05", "tok_f_dob_swap": None}, "dob", 3),  # same year only
        ({"tok_f_pc": "LS1 1ZZ"}, "postcode", 2),  # same sector
        ({"tok_f_pc": "LS1 9ZZ", "tok_f_sector": "LS1 9"}, "postcode", 3),  # same district
    ],
)
def test_comparison_levels(change, field, level):
    profiles = _profiles([ANN, {**ANN, **change}])
    g = fs.comparison_vectors(
        pl.DataFrame({"l": [0], "r": [1]}, schema={"l": pl.UInt32, "r": pl.UInt32}), profiles
    )
    assert g[fs.gamma_name(field)][0] == level


def test_swapped_names_are_their_own_level():
    swapped = {
        **ANN,
        "tok_f_fn": "LEE",
        "tok_f_sn": "ANN",
        "tok_f_fn_ph": "L000",
        "tok_f_sn_ph": "A500",
        "tok_f_fn3": "LEE",
        "tok_f_sn3": "ANN",
    }
    g = fs.comparison_vectors(
        pl.DataFrame({"l": [0], "r": [1]}, schema={"l": pl.UInt32, "r": pl.UInt32}),
        _profiles([ANN, swapped]),
    )
    assert (g["g_forename"][0], g["g_surname"][0]) == (2, 2)


def test_different_nhs_numbers_are_a_conflict_that_scores_minus_infinity():
    profiles = _profiles([{**ANN, "tok_nhs": "n1"}, {**ANN, "tok_nhs": "n2"}])
    g = fs.comparison_vectors(
        pl.DataFrame({"l": [0], "r": [1]}, schema={"l": pl.UInt32, "r": pl.UInt32}), profiles
    )
    model = fs.Model(
        fs.initial_m(),
        {f: [0.9] + [0.1 / len(v)] * len(v) for f, v in fs.COMPARISONS.items()},
        prior=0.5,
    )
    scored = fs.score(g, model, {})
    assert scored["id_conflict"][0] and scored["match_weight"][0] == float("-inf")


def test_weight_is_prior_log_odds_plus_sum_of_log_m_over_u():
    m = {f: [0.1] + [0.9 / len(v)] * len(v) for f, v in fs.COMPARISONS.items()}
    u = {f: [0.9] + [0.1 / len(v)] * len(v) for f, v in fs.COMPARISONS.items()}
    model = fs.Model(m, u, prior=0.2)
    g = fs.comparison_vectors(
        pl.DataFrame({"l": [0], "r": [1]}, schema={"l": pl.UInt32, "r": pl.UInt32}),
        _profiles([ANN, ANN]),
    )
    expected = math.log2(0.2 / 0.8) + sum(math.log2(m[f][1] / u[f][1]) for f in fs.COMPARISONS)
    assert fs.score(g, model, {})["match_weight"][0] == pytest.approx(expected)


def test_agreeing_on_a_rare_name_weighs_more_than_on_a_common_one():
    common = [{**ANN, "tok_f_fn": "JOHN", "tok_f_dob": f"d{i}"} for i in range(20)]
    rare = [
        {**ANN, "tok_f_fn": "ZEBEDEE", "tok_f_dob": "dz1"},
        {**ANN, "tok_f_fn": "ZEBEDEE", "tok_f_dob": "dz2"},
    ]
    profiles = _profiles(common + rare)
    pairs = pl.DataFrame({"l": [0, 20], "r": [1, 21]}, schema={"l": pl.UInt32, "r": pl.UInt32})
    g = fs.comparison_vectors(pairs, profiles)
    model = fs.Model(fs.initial_m(), fs.estimate_u(profiles, 5_000), prior=0.1)
    w = fs.score(g, model, fs.term_frequencies(profiles)).sort("l")["match_weight"]
    assert w[1] > w[0]


def test_em_recovers_m_from_unlabelled_pairs():
    rng = np.random.default_rng(3)
    true_m = {f: [0.05] + [0.95] + [0.0] * (len(v) - 1) for f, v in fs.COMPARISONS.items()}
    u = {f: [0.95] + [0.05] + [1e-6] * (len(v) - 1) for f, v in fs.COMPARISONS.items()}

    def draw(dist, n):
        return {
            fs.gamma_name(f): rng.choice(len(p), n, p=np.array(p) / sum(p)) for f, p in dist.items()
        }

    matches, non = draw(true_m, 3_000), draw(u, 7_000)
    g = pl.DataFrame(
        {k: np.concatenate([matches[k], non[k]]).astype(np.int8) for k in matches}
    ).with_columns(id_conflict=pl.lit(False))
    m, prior, _ = fs._em(g, fs.initial_m(), u, 0.5, set(fs.COMPARISONS), True)
    assert prior == pytest.approx(0.3, abs=0.02)
    for f in fs.COMPARISONS:
        assert m[f][1] == pytest.approx(0.95, abs=0.03)
