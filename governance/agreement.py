"""The data-sharing agreement model: what the ICO data sharing code expects an agreement to record.

Loaded from governance/policies/<partner>.yaml by governance.policy; every field is described so
IG officers can read the model as the policy's reference (docs/governance.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from governance.disclosure import DEFAULT_RULES, DisclosureRules

Simple = Literal["drop", "keep", "pseudonymise"]
Generalisation = Literal["age_band", "postcode_sector", "postcode_district"]
# Which identity role each generalisation can be applied to.
GENERALISES = {"age_band": "dob", "postcode_sector": "postcode", "postcode_district": "postcode"}
Zone = Literal["landing", "quarantine", "staged", "vault", "published"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Generalise(Strict):
    generalise: Generalisation = Field(description="Coarser form to publish instead of the value.")


Treatment = Annotated[Simple | Generalise, Field(description="What happens to the column.")]


class Contact(Strict):
    name: str = Field(description="Post or person accountable for the sharing at this party.")
    email: str = Field(description="Contact address for data protection queries.")


class Party(Strict):
    name: str = Field(description="Organisation name.")
    role: Literal["provider", "recipient", "processor"] = Field(description="Role in the sharing.")
    contact: Contact = Field(description="Who to contact at this party.")
    approvers: list[str] = Field(
        default_factory=list,
        description="Key ids (a-...) of the approvers who may sign the policy for this party "
        "(its DPO, SIRO or IG lead); a provider or recipient must name at least one.",
    )
    approvals_required: int = Field(
        1, gt=0, description="How many of those approvers must sign (k of n)."
    )

    @property
    def signs(self) -> bool:
        """Providers and recipients sign the agreement; a processor acts on instructions."""
        return self.role != "processor"


class Retention(Strict):
    landing: int = Field(gt=0, description="Days a raw drop may stay in landing/.")
    quarantine: int = Field(gt=0, description="Days quarantined raw rows may be kept.")
    staged: int = Field(gt=0, description="Days pseudonymised staged rows may be kept.")
    vault: int = Field(gt=0, description="Days re-identification vault entries may be kept.")


class Disclosure(Strict):
    threshold: int = Field(
        DEFAULT_RULES.threshold,
        ge=0,
        description="Counts from 1 to this are redacted in every figure that leaves.",
    )
    rounding: int = Field(
        DEFAULT_RULES.rounding, ge=1, description="Every published count is rounded to this."
    )

    @property
    def rules(self) -> DisclosureRules:
        return DisclosureRules(self.threshold, self.rounding)


class SignOff(Strict):
    name: str = Field(description="Name of the IG officer or SIRO who approved the agreement.")
    role: str = Field(description="Their post, e.g. Senior Information Risk Owner.")
    date: dt.date = Field(description="Date of approval.")


class OptOut(Strict):
    national_data_opt_out: bool = Field(description="Apply the national data opt-out list.")
    max_list_age_days: int = Field(
        gt=0, description="Oldest opt-out list (days before the run date) the ingest accepts."
    )


class Reidentification(Strict):
    roles: list[str] = Field(min_length=1, description="Roles that may re-identify a person.")
    purposes: list[str] = Field(min_length=1, description="Purposes for which they may.")


class Agreement(Strict):
    id: str = Field(description="Agreement reference, e.g. DSA-<PARTNER>-2026-01.")
    title: str = Field(description="Short title.")
    parties: list[Party] = Field(min_length=2, description="Providers and recipients.")
    purpose: str = Field(description="Why the data is shared.")
    lawful_basis: str = Field(description="UK GDPR Article 6 basis.")
    special_category_condition: str | None = Field(
        None, description="Article 9 condition (and DPA 2018 Schedule 1 condition) for health data."
    )
    criminal_offence_condition: str | None = Field(
        None, description="Article 10 / DPA 2018 Schedule 1 condition for criminal offence data."
    )
    legal_gateway: str = Field(description="Statutory power that permits the sharing.")
    international_transfers: str = Field(
        "None: all processing and storage is in the UK",
        description="Transfers to third countries or international organisations, and their "
        "safeguards (Article 30(1)(e)).",
    )
    valid_from: dt.date = Field(description="First day processing is allowed.")
    valid_to: dt.date = Field(description="Last day processing is allowed.")
    review_date: dt.date = Field(description="When the agreement is next reviewed.")
    retention: Retention = Field(description="Days data may be kept, per zone.")
    sign_off: SignOff = Field(description="Who approved the agreement, and when.")
    opt_out: OptOut | None = Field(None, description="National data opt-out (NHS-sourced data).")
    reidentification: Reidentification | None = Field(
        None, description="Who may re-identify, for what; absent means nobody may."
    )
    disclosure: Disclosure = Field(
        Disclosure(threshold=DEFAULT_RULES.threshold, rounding=DEFAULT_RULES.rounding),
        description="Statistical disclosure control of queries, publications and the report "
        "(default: redact 1-7, round to 5); a figure from several partners' data takes the "
        "strictest of their agreements.",
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Agreement:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class Policy(Strict):
    partner: str = Field(description="Partner name; must match the file name.")
    agreement: Agreement = Field(description="The agreement's particulars.")
    extracts: dict[str, dict[str, Treatment | list[Treatment]]] = Field(
        description="extract name -> column name -> treatment (or a list of treatments)."
    )

    def treatments(self, extract: str, column: str) -> list[Simple | Generalise]:
        """The column's treatments; [] when the policy does not name it (deny by default)."""
        found = self.extracts.get(extract, {}).get(column)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def kept(self, extract: str, treatment: str) -> list[str]:
        """Columns of an extract with a given simple treatment."""
        names = self.extracts.get(extract, {})
        return [c for c in names if treatment in self.treatments(extract, c)]

    def generalised(self, extract: str) -> list[tuple[str, str]]:
        """(column, generalisation) pairs of an extract."""
        return [
            (c, t.generalise)
            for c in self.extracts.get(extract, {})
            for t in self.treatments(extract, c)
            if isinstance(t, Generalise)
        ]

    def unnamed(self, ex) -> list[str]:
        """Schema columns the policy does not name (nothing of them passes: deny by default)."""
        return [c for c in ex.column_names if c not in self.extracts.get(ex.name, {})]

    def passes(self, extract: str, column: str) -> bool:
        """Does anything of the column get past the ingest (kept, generalised or tokenised)?"""
        return any(t != "drop" for t in self.treatments(extract, column))
