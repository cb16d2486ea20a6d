"""Synthetic police crimes: offenders, domestic abuse victims, and background victims and
witnesses."""

import polars as pl

from flows.synth_draw import Draw, PartnerSynth
from schemas.partners.police import OFFENCE_CATEGORIES


def crimes(d: Draw) -> pl.DataFrame:
    frames = []
    for need, roles, cats, da, most, p in (
        ("offending", ("suspect", "offender"), OFFENCE_CATEGORIES, 0.0, 4, 1.0),
        ("domestic_abuse", ("victim",), ("violence_against_the_person",), 1.0, 3, 1.0),
        (
            None,
            ("victim", "witness"),
            ("theft", "burglary", "criminal_damage", "robbery"),
            0.0,
            1,
            0.06,
        ),
    ):
        idx = d.people(need, p, most)
        m = len(idx)
        frames.append(
            d.frame(
                idx,
                "event_date",
                need is not None,
                offence_category=d.pick(cats, m),
                role=d.pick(roles, m),
                domestic_abuse=d.flag(m, da),
                anti_social_behaviour=d.flag(m, 0.1),
            )
        )
    return pl.concat(frames)


SYNTH = PartnerSynth({"crimes": crimes})
