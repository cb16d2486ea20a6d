"""Synthetic council extracts: homelessness cases and adult social care contacts."""

import numpy as np
import polars as pl

from flows.synth_draw import Draw, PartnerSynth
from schemas.partners.council import DUTY_TYPES, HOMELESS_REASONS


def homelessness_cases(d: Draw) -> pl.DataFrame:
    idx = d.people("homelessness", 1.0, 2)
    m = len(idx)
    da = d.has("domestic_abuse", idx) & (d.rng.random(m) < 0.3)
    others = [r for r in HOMELESS_REASONS if r != "domestic_abuse"]
    reason = np.where(da, "domestic_abuse", d.pick(others, m))
    return d.frame(
        idx,
        "decision_date",
        True,
        duty_type=d.pick(DUTY_TYPES, m),
        reason=reason,
        support_need_mental_health=d.flag(m, 0.3),
        support_need_substance=d.flag(m, 0.25),
    )


def social_care_contacts(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, reasons in (
        ("mental_health", 0.2, ("mental_health_support",)),
        ("substance_misuse", 0.15, ("substance_misuse_support",)),
        (None, 0.03, ("physical_support", "carer_support", "other")),
    ):
        idx = d.people(need, p, 1)
        frames.append(
            d.frame(idx, "contact_date", need is not None, contact_reason=d.pick(reasons, len(idx)))
        )
    return pl.concat(frames)


SYNTH = PartnerSynth(
    {"homelessness_cases": homelessness_cases, "social_care_contacts": social_care_contacts},
    nhs_number_known=0.4,  # councils often do not know it
    bom=True,
)
