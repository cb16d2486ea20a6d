"""The business case in the shape of HM Treasury's local-partnership CBA guidance (April 2014):
gross fiscal benefit by agency, less deadweight, adjusted for optimism bias by a data-confidence
grade, split cashable and non-cashable, over a horizon discounted at the Green Book rate.

Every assumption is a named parameter, declared in a YAML file (flows/parameters/), versioned by
the SHA-256 of its values and written into every output beside its value and source:

    gross         the supported people's observed fall in cost, before to after (per person
                  per year): what a before/after alone would claim
    deadweight    the part of that fall the matched comparison group shows too: what would
                  have happened anyway (regression to the mean included)
    net           gross less deadweight = minus the difference in differences
    optimism bias net reduced by the share the data-confidence grade carries
    cashable      the share of each unit cost that could leave a budget (per unit cost row,
                  else `cashable_default`), the rest non-cashable (freed capacity)
    present value the net (after optimism bias) for `people_per_year` people a year, kept at
                  `benefit_persistence` from year to year, over `horizon_years`, discounted at
                  `discount_rate` (year 0 undiscounted)

Inputs are the controlled (rounded) estimates only, so nothing here is finer than what was
already published.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import ExitCode, UserError

MONTHS = 12


class ParameterError(UserError):
    """Business-case parameters that cannot be used as they stand."""

    exit_code = ExitCode.BAD_EVIDENCE_SETTINGS


class Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="What this set of assumptions is called.")
    discount_rate: float = Field(
        ge=0, le=1, description="Annual discount rate (Green Book social time preference)."
    )
    horizon_years: int = Field(ge=1, le=60, description="Years of benefit counted.")
    benefit_persistence: float = Field(
        ge=0, le=1, description="Share of a year's benefit kept the next year."
    )
    confidence_grade: int = Field(description="Data-confidence grade of the evidence used.")
    optimism_bias: dict[int, float] = Field(
        description="Grade -> share by which the net benefit is reduced."
    )
    cashable_default: float = Field(
        ge=0, le=1, description="Cashable share where a unit cost row states none."
    )
    people_per_year: int | None = Field(
        default=None, ge=0, description="People supported a year (default: the list's count)."
    )
    sources: dict[str, str] = Field(description="Where each value comes from.")

    @property
    def version(self) -> str:
        doc = json.dumps(self.model_dump(), sort_keys=True, default=str)
        return hashlib.sha256(doc.encode()).hexdigest()[:12]

    @property
    def optimism_bias_share(self) -> float:
        return self.optimism_bias[self.confidence_grade]

    def rows(self) -> list[tuple[str, object, str]]:
        """(parameter, value, source) for every assumption, as every output shows them."""
        values = self.model_dump(exclude={"sources", "name"})
        values["optimism_bias_applied"] = self.optimism_bias_share
        return [(k, v, self.sources.get(k, "")) for k, v in values.items()]


def load_parameters(path: Path) -> Parameters:
    where = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text())
        params = Parameters.model_validate(doc)
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(
            f"business-case parameters could not be read ({type(exc).__name__}) ({where}). "
            "Fix: check the path and the YAML"
        ) from None
    except ValidationError as exc:
        keys = sorted({".".join(map(str, e["loc"])) or "-" for e in exc.errors()})
        raise ParameterError(
            f"business-case parameters ({where}): {', '.join(keys)} missing or out of range. "
            "Fix: see flows/parameters/business_case.yaml for every field"
        ) from None
    if params.confidence_grade not in params.optimism_bias:
        raise ParameterError(
            f"business-case parameters ({where}): confidence_grade {params.confidence_grade} "
            "has no optimism_bias share. Fix: use a listed grade"
        )
    return params


def present_value(annual: float, p: Parameters) -> float:
    return sum(
        annual * p.benefit_persistence**t / (1 + p.discount_rate) ** t
        for t in range(p.horizon_years)
    )


def agency_case(
    agency: str,
    naive: float,
    did: float,
    ci: tuple[float, float],
    cashable: float,
    people: int,
    p: Parameters,
) -> dict:
    """One agency's line: per person per year, then for `people` a year over the horizon.
    `naive`, `did` and `ci` are per person-month changes in cost (negative = a fall)."""
    gross = -naive * MONTHS
    net = -did * MONTHS
    # optimism bias makes a benefit smaller, never a dis-benefit
    after_ob = net * (1 - p.optimism_bias_share) if net > 0 else net
    annual = after_ob * people
    return {
        "agency": agency,
        "gross_per_person_year": round(gross),
        "deadweight_per_person_year": round(gross - net),
        "net_per_person_year": round(net),
        "net_ci_per_person_year": [round(-ci[1] * MONTHS), round(-ci[0] * MONTHS)],
        "net_after_optimism_bias_per_person_year": round(after_ob),
        "cashable_share": round(cashable, 3),
        "cashable_per_person_year": round(after_ob * cashable),
        "non_cashable_per_person_year": round(after_ob * (1 - cashable)),
        "people_per_year": people,
        "present_value": round(present_value(annual, p), -2),
        "present_value_cashable": round(present_value(annual * cashable, p), -2),
    }
