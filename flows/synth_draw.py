"""What a partner's synthetic generator gets and gives: `Draw` (people and dates) and
`PartnerSynth` (its builders and how its system writes a record). Each partner's generator is
`flows/partners/<name>.py`, declaring `SYNTH`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from schemas.cohort import DEFAULT_LOOKBACK_DAYS


class Draw:
    """Picks people for a kind of event and dates the events."""

    def __init__(
        self,
        pop: pl.DataFrame,
        rng: np.random.Generator,
        as_of: dt.date,
        recent_days: int = DEFAULT_LOOKBACK_DAYS,
    ) -> None:
        self.pop, self.rng, self.as_of = pop, rng, np.datetime64(as_of)
        self.recent_days = recent_days

    def people(self, need: str | None, p: float, most: int) -> np.ndarray:
        """Indices of people with the latent need (anyone when None), each with 1..most events."""
        n = self.pop.height
        mask = self.pop[f"need_{need}"].to_numpy() if need else np.ones(n, bool)
        idx = np.flatnonzero(mask & (self.rng.random(n) < p))
        return np.repeat(idx, self.rng.integers(1, most + 1, len(idx)))

    def has(self, need: str, idx: np.ndarray) -> np.ndarray:
        """Whether each of these people truly has the need (the ground truth)."""
        return self.pop[f"need_{need}"].to_numpy()[idx]

    def dates(self, m: int, recent: bool) -> np.ndarray:
        """Need events mostly inside the last `recent_days` (the lookback, unless a history
        is drawn for several nights); background events over three years."""
        inside = self.rng.random(m) < (0.85 if recent else 0.33)
        days = np.where(
            inside,
            self.rng.integers(0, self.recent_days, m),
            self.rng.integers(self.recent_days + 1, 3 * 365, m),
        )
        return self.as_of - days.astype("timedelta64[D]")

    def pick(self, values, m: int) -> np.ndarray:
        return self.rng.choice(np.array(values), m)

    def flag(self, m: int, p: float) -> np.ndarray:
        return np.where(self.rng.random(m) < p, "Y", "N")

    def frame(self, idx: np.ndarray, date_col: str, recent: bool, **cols) -> pl.DataFrame:
        return pl.DataFrame(
            {"person_idx": idx.astype(np.uint32), date_col: self.dates(len(idx), recent), **cols}
        )


Builder = Callable[[Draw], pl.DataFrame]


@dataclass(frozen=True)
class PartnerSynth:
    """A partner's synthetic extracts: a builder per extract (events with `person_idx` and the
    extract's own columns; identity columns are added from the person), and how its system
    writes identities."""

    builders: Mapping[str, Builder]
    # Sex as the partner codes it, from the person's M/F (unknown: `sex_unknown`).
    sex_codes: Mapping[str, str] = field(default_factory=lambda: {"M": "M", "F": "F"})
    sex_unknown: str = "U"
    # Share of records carrying the person's NHS number, where the contract has one.
    nhs_number_known: float = 1.0
    # CSV files written with a UTF-8 byte-order mark (as Excel exports do).
    bom: bool = False
    # What the partner's system writes for no fixed abode instead of leaving the postcode empty
    # (realistic noise only; linkage reads it as no postcode: governance.canonical).
    no_fixed_abode_postcode: str | None = None
