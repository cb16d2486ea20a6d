"""Synthetic NHS extracts: A&E attendances, mental-health referrals, treatment episodes."""

import numpy as np
import polars as pl

from flows.synth_draw import Draw, PartnerSynth
from schemas.partners.nhs import MH_REASONS, SUBSTANCES


def ae_attendances(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, most, flags in (
        ("substance_misuse", 0.6, 3, (0.6, 0.5, 0.0)),
        ("mental_health", 0.4, 2, (0.0, 0.0, 1.0)),
        (None, 0.2, 2, (0.0, 0.0, 0.0)),
    ):
        idx = d.people(need, p, most)
        m = len(idx)
        alcohol = d.flag(m, flags[0])
        drug = np.where(
            alcohol == "N",
            d.flag(m, 1.0 if need == "substance_misuse" else 0.0),
            d.flag(m, flags[1]),
        )
        frames.append(
            d.frame(
                idx,
                "arrival_date",
                need is not None,
                alcohol_related=alcohol,
                drug_related=drug,
                self_harm=d.flag(m, flags[2]),
            )
        )
    return pl.concat(frames)


def mh_referrals(d: Draw) -> pl.DataFrame:
    idx = d.people("mental_health", 0.9, 2)
    return d.frame(idx, "referral_date", True, primary_reason=d.pick(MH_REASONS, len(idx)))


def treatment_episodes(d: Draw) -> pl.DataFrame:
    idx = d.people("substance_misuse", 0.7, 1)
    m = len(idx)
    frame = d.frame(idx, "triage_date", True, substance=d.pick(SUBSTANCES, m))
    ended = d.rng.random(m) < 0.4
    return frame.with_columns(
        discharge_date=pl.when(pl.lit(pl.Series(ended))).then(
            pl.col("triage_date") + pl.duration(days=90)
        )
    )


SYNTH = PartnerSynth(
    {
        "ae_attendances": ae_attendances,
        "mh_referrals": mh_referrals,
        "treatment_episodes": treatment_episodes,
    },
    # ECDS person stated gender: 1 male, 2 female, X not known.
    sex_codes={"M": "1", "F": "2"},
    sex_unknown="X",
    # NHS data sets record no fixed abode as the pseudo-postcode ZZ99 3VZ (NHS Data Dictionary).
    no_fixed_abode_postcode="ZZ99 3VZ",
)
