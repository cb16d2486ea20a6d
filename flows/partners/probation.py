"""Synthetic probation supervision episodes: people who offend, with an OASys-style assessment
whose accommodation, drug and alcohol needs follow their true needs."""

import numpy as np
import polars as pl

from flows.synth_draw import Draw, PartnerSynth
from schemas.partners.probation import CRIMINOGENIC_NEEDS, ORDER_TYPES, TIERS

# Need areas that follow no true need domain are assessed as present at this rate.
OTHER_RATE = 0.35


def supervision_episodes(d: Draw) -> pl.DataFrame:
    idx = d.people("offending", 0.6, 2)
    m = len(idx)
    substance = d.has("substance_misuse", idx)
    drugs = substance & (d.rng.random(m) < 0.7)
    flags = {
        name: d.flag(m, OTHER_RATE)
        for name, _what, _category in CRIMINOGENIC_NEEDS
        if name not in ("need_accommodation", "need_drugs", "need_alcohol")
    }
    frame = d.frame(
        idx,
        "start_date",
        True,
        crn=_case_refs(idx),
        order_type=d.pick(ORDER_TYPES, m),
        tier=d.pick(TIERS, m),
        need_accommodation=np.where(d.has("homelessness", idx), "Y", "N"),
        need_drugs=np.where(drugs, "Y", "N"),
        need_alcohol=np.where(substance & ~drugs, "Y", np.where(substance, d.flag(m, 0.4), "N")),
        pnc_id=_pnc_ids(idx),
        **flags,
    )
    ended, no_pnc = d.rng.random(m) < 0.3, d.rng.random(m) < 0.5
    return frame.with_columns(
        end_date=pl.when(pl.lit(pl.Series(ended))).then(
            pl.col("start_date") + pl.duration(days=180)
        ),
        pnc_id=pl.when(pl.lit(pl.Series(no_pnc))).then(None).otherwise("pnc_id"),
    )


def _case_refs(idx: np.ndarray) -> np.ndarray:
    """One CRN per person: a letter and six digits."""
    letters = np.array(list("ABCDEFGHJKLMNPRSTVWXYZ"))
    return np.char.add(
        letters[(idx // 1_000_000) % len(letters)], np.char.zfill((idx % 1_000_000).astype(str), 6)
    )


def _pnc_ids(idx: np.ndarray) -> np.ndarray:
    """A PNC-style id per person (year/seven digits and a letter); recorded on about half the
    records."""
    year = 2000 + idx % 25
    body = np.char.zfill((idx * 7919 % 10_000_000).astype(str), 7)
    return np.char.add(np.char.add(np.char.add(year.astype(str), "/"), body), "A")


SYNTH = PartnerSynth(
    {"supervision_episodes": supervision_episodes},
    nhs_number_known=0.3,  # recorded for some, from health and justice liaison
)
