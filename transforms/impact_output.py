"""The impact estimate as it may leave the partnership: counts under disclosure control, the
estimate only over enough matched people, money rounded.

    counts     supported, matched, unmatched, comparison people, starts left out: each a count
               of people, redacted when 1..threshold and rounded (governance.disclosure)
    estimate   the difference in differences and its interval, the naive before/after (always
               labelled as not an effect): withheld under IMPACT_MIN_PEOPLE matched people,
               else rounded to ROUND_PER_MONTH pounds per person-month
    balance    means and standardised mean differences, shown with the estimate; a category
               held by 1..threshold matched people is hidden
"""

from __future__ import annotations

import math

from governance.disclosure import DEFAULT_RULES, DisclosureRules, round_to
from transforms.impact import Impact

IMPACT_MIN_PEOPLE = 20  # matched supported people below which no estimate is shown
ROUND_PER_MONTH = 1  # pounds per person-month
WITHHELD = "withheld: fewer than {n} matched supported people"


def controlled_count(n: int, rules: DisclosureRules = DEFAULT_RULES) -> int | None:
    """A count of people as it may be published: None when 1..threshold, else rounded."""
    return None if 1 <= n <= rules.threshold else round_to(n, rules.rounding)


def _money(x: float) -> float | None:
    if math.isnan(x):
        return None
    return round(x / ROUND_PER_MONTH) * ROUND_PER_MONTH


def controlled_impact(impact: Impact, rules: DisclosureRules = DEFAULT_RULES) -> dict:
    s = impact.summary()
    out: dict = {
        "estimate": s["estimate"],
        "supported": controlled_count(impact.supported, rules),
        "matched": controlled_count(impact.matched, rules),
        "unmatched": controlled_count(impact.unmatched, rules),
        "comparison_people": controlled_count(impact.comparison_people, rules),
        "left_out_windows_outside_the_data": controlled_count(impact.outside_observed, rules),
        "months_before": s["months_before"],
        "months_after": s["months_after"],
        "matched_on": s["matched_on"],
        "neighbours": s["neighbours"],
        "confidence": s["confidence"],
    }
    if impact.matched < IMPACT_MIN_PEOPLE:
        why = WITHHELD.format(n=IMPACT_MIN_PEOPLE)
        return {**out, "did_per_person_month": why, "ci": why, "balance": []}
    return {
        **out,
        "did_per_person_month": _money(impact.did),
        "ci": [_money(impact.ci_low), _money(impact.ci_high)],
        "includes_zero": impact.includes_zero(),
        "naive_before_after_per_person_month": _money(impact.naive_change),
        "naive_warning": s["naive_warning"],
        "balance": controlled_balance(s["balance"], impact.matched, rules),
    }


def controlled_balance(rows: list[dict], matched: int, rules: DisclosureRules) -> list[dict]:
    """A category's share among the matched supported people times their number is a count:
    hidden (share and SMD) when it is 1..threshold people, on either side."""
    out = []
    for row in rows:
        if " = " in row["variable"]:
            n = round(row["mean_supported"] * matched)
            m = round(row["mean_comparison"] * matched)
            if 1 <= n <= rules.threshold or 1 <= m <= rules.threshold:
                row = {**row, "mean_supported": None, "mean_comparison": None, "smd": None}
        out.append(row)
    return out
