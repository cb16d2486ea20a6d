"""Synthetic DWP Universal Credit claims."""

import polars as pl

from flows.synth_draw import Draw, PartnerSynth
from transforms.partners.dwp import OUT_OF_WORK_REGIMES


def uc_claims(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, regimes, lcw in (
        ("worklessness", 1.0, OUT_OF_WORK_REGIMES, 0.4),
        (None, 0.1, ("light_touch", "working_enough"), 0.0),
    ):
        idx = d.people(need, p, 1)
        m = len(idx)
        frames.append(
            d.frame(
                idx,
                "claim_start",
                need is not None,
                regime=d.pick(regimes, m),
                limited_capability_for_work=d.flag(m, lcw),
            )
        )
    return pl.concat(frames).with_columns(claim_end=pl.lit(None, dtype=pl.Date))


SYNTH = PartnerSynth({"uc_claims": uc_claims})
