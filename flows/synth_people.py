"""Synthetic people and their identities, vectorised so a million people take seconds.

Nothing here is real: names are drawn from Faker's en_GB frequency tables, NHS numbers only
from the test range 999 000 0000 - 999 999 9999 (valid check digit), NINOs in a valid format,
postcodes in a made-up set of districts of one city.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import polars as pl
from faker.providers.person.en_GB import Provider as Names

from governance.canonical import NICKNAMES
from schemas.cohort import NEEDS
from schemas.formats import NHS_TEST_RANGE, NINO_NEVER_ALLOCATED

LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
NINO_FIRST = np.array(list("ABCEGHJKLMNOPRSTWXYZ"))
NINO_SECOND = np.array(list("ABCEGHJKLMNPRSTWXYZ"))
INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
DISTRICTS = np.array([f"LS{i}" for i in range(1, 30)])
# A formal name -> one of its nicknames, for the "known as" noise.
FORMAL_TO_NICK = {formal: nick for nick, formal in reversed(list(NICKNAMES.items()))}


def zipf_weights(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** 0.9
    return w / w.sum()


@functools.cache
def nhs_test_pool() -> np.ndarray:
    """Every valid NHS number in the test range (909,090 of them), as integers."""
    lo = NHS_TEST_RANGE[0] // 10
    bodies = np.arange(lo, NHS_TEST_RANGE[1] // 10 + 1, dtype=np.int64)
    digits = (bodies[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = (11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11) % 11
    repeated = (digits == digits[:, :1]).all(axis=1) & (check == digits[:, 0])
    valid = (check != 10) & ~repeated
    return bodies[valid] * 10 + check[valid]


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct valid NHS numbers from the test range, as 10-character strings."""
    pool = nhs_test_pool()
    if n > len(pool):
        raise ValueError(
            f"the NHS test range holds {len(pool)} valid numbers; {n} were asked "
            "for. Use fewer --people."
        )
    return rng.choice(pool, size=n, replace=False).astype(str)


def ninos(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct NINOs in a valid format (prefixes never allocated are avoided)."""
    out: set[str] = set()
    result = []
    while len(result) < n:
        m = (n - len(result)) * 2
        first, second = rng.choice(NINO_FIRST, m), rng.choice(NINO_SECOND, m)
        nums = rng.integers(0, 1_000_000, m)
        suffix = rng.choice(np.array(list("ABCD")), m)
        for a, b, d, s in zip(first, second, nums, suffix, strict=True):
            code = f"{a}{b}{d:06d}{s}"
            if a + b in NINO_NEVER_ALLOCATED or code in out:
                continue
            out.add(code)
            result.append(code)
            if len(result) == n:
                break
    return np.array(result)


def postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    district = rng.choice(DISTRICTS, n)
    sector = rng.integers(1, 10, n).astype(str)
    unit = np.char.add(rng.choice(INWARD_LETTERS, n), rng.choice(INWARD_LETTERS, n))
    return np.char.add(np.char.add(np.char.add(district, " "), sector), unit)


def population(rng: np.random.Generator, n: int, as_of: dt.date) -> pl.DataFrame:
    """One row per true person: identity and the latent needs that drive their records."""
    sex = rng.choice(np.array(["M", "F"]), n)
    male = np.array(Names.first_names_male)
    female = np.array(Names.first_names_female)
    fn = np.where(
        sex == "M",
        rng.choice(male, n, p=zipf_weights(len(male))),
        rng.choice(female, n, p=zipf_weights(len(female))),
    )
    surnames = np.array(list(Names.last_names))
    weights = np.array(list(Names.last_names.values()))
    sn = rng.choice(surnames, n, p=weights / weights.sum())
    second = rng.choice(surnames, n, p=weights / weights.sum())
    sn = np.where(rng.random(n) < 0.03, np.char.add(np.char.add(sn, "-"), second), sn)
    age_days = rng.integers(18 * 365 + 5, 85 * 365, n)
    dob = np.datetime64(as_of) - age_days.astype("timedelta64[D]")
    complex_ = rng.random(n) < 0.06
    frame = pl.DataFrame(
        {
            "person": np.char.add("T", np.char.zfill(np.arange(n).astype(str), 8)),
            "forename": fn,
            "surname": sn,
            "dob": dob,
            "sex": sex,
            "postcode": postcodes(rng, n),
            "nino": ninos(rng, n),
        }
    )
    p_need = np.where(complex_, 0.5, 0.012)
    needs = {f"need_{name}": rng.random(n) < p_need for name in NEEDS}
    return frame.with_columns(pl.Series(k, v) for k, v in needs.items())
