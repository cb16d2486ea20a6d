"""Data-sharing agreement policies: the model, the loader and the checks.

A policy file (governance/policies/<partner>.yaml) holds the agreement's particulars and a
treatment for every column of each extract the partner sends. Deny by default: a column the
policy does not name is dropped, and reported.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from governance.errors import AgreementNotInForceError, PolicyError, Problem
from schemas.contract import Extract
from schemas.registry import PARTNER_NAMES, partner

POLICY_DIR = Path(__file__).parent / "policies"
ENV_POLICY_DIR = "MCN_POLICY_DIR"  # where a partnership keeps its reviewed policies

Simple = Literal["drop", "keep", "pseudonymise"]
Generalisation = Literal["age_band", "postcode_sector", "postcode_district"]
# Which identity role each generalisation can be applied to.
GENERALISES = {"age_band": "dob", "postcode_sector": "postcode", "postcode_district": "postcode"}


class Generalise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    generalise: Generalisation = Field(description="Coarser form to publish instead of the value.")


Treatment = Annotated[Simple | Generalise, Field(description="What happens to the column.")]


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Organisation name.")
    role: Literal["provider", "recipient", "processor"] = Field(description="Role in the sharing.")


class Agreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="Agreement reference, e.g. DSA-POLICE-2026-01.")
    title: str = Field(description="Short title.")
    parties: list[Party] = Field(min_length=2, description="Providers and recipients.")
    purpose: str = Field(description="Why the data is shared.")
    lawful_basis: str = Field(description="UK GDPR Article 6 basis.")
    legal_gateway: str = Field(description="Statutory power that permits the sharing.")
    valid_from: dt.date = Field(description="First day processing is allowed.")
    valid_to: dt.date = Field(description="Last day processing is allowed.")
    retention_days: int = Field(gt=0, description="Days staged data may be kept.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Agreement:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner: str = Field(description="Partner name; must match the file name.")
    agreement: Agreement
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
        return [
            c for c in self.extracts.get(extract, {}) if treatment in self.treatments(extract, c)
        ]

    def generalised(self, extract: str) -> list[tuple[str, str]]:
        """(column, generalisation) pairs of an extract."""
        return [
            (c, t.generalise)
            for c in self.extracts.get(extract, {})
            for t in self.treatments(extract, c)
            if isinstance(t, Generalise)
        ]

    def unnamed(self, ex: Extract) -> list[str]:
        """Schema columns the policy does not name: dropped by default."""
        return [c for c in ex.column_names if c not in self.extracts.get(ex.name, {})]


def policy_dir_in_use(policy_dir: Path | None = None) -> Path:
    """The folder given, else $MCN_POLICY_DIR, else the policies shipped with the package."""
    return Path(policy_dir or os.environ.get(ENV_POLICY_DIR) or POLICY_DIR)


def policy_path(partner_name: str, policy_dir: Path | None = None) -> Path:
    return policy_dir_in_use(policy_dir) / f"{partner_name}.yaml"


def _location(loc: tuple) -> str:
    """The YAML key path of a pydantic error, without pydantic's union and type markers."""
    return ".".join(
        str(p) for p in loc if "[" not in str(p) and "-" not in str(p) and str(p) != "Generalise"
    )


def _parse(path: Path) -> tuple[Policy | None, list[Problem]]:
    name = str(path)
    if not path.exists():
        return None, [
            Problem(
                name,
                "-",
                "POL001",
                "policy file is missing; every partner needs "
                "one (copy a shipped policy and edit it)",
            )
        ]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "-"
        return None, [Problem(name, where, "POL002", "not valid YAML")]
    try:
        return Policy.model_validate(raw), []
    except ValidationError as exc:
        problems = unknown_names(raw, path)  # names are checked even when treatments are not
        seen = set()
        for err in exc.errors(include_input=False, include_url=False):
            key = _location(err["loc"])
            if key in seen:  # a union reports each branch; one line per key is enough
                continue
            seen.add(key)
            problems.append(Problem(name, key or "-", "POL003", _describe(err)))
        return None, problems


def _describe(err: dict) -> str:
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "extra_forbidden":
        return "unknown field (check spelling against docs/policies.md)"
    if err["type"] in ("literal_error", "union_tag_invalid", "model_type", "list_type"):
        return (
            "treatment must be drop, keep, pseudonymise, {generalise: age_band|"
            "postcode_sector|postcode_district} or a list of these"
        )
    return err["msg"]


def check_policy(policy: Policy, path: Path) -> list[Problem]:
    """Rules that need the partner's schema: every named column exists, treatments fit."""
    name, problems = str(path), []
    if policy.partner != path.stem:
        problems.append(
            Problem(
                name,
                "partner",
                "POL010",
                f"says '{policy.partner}' but the file is for '{path.stem}'",
            )
        )
        return problems
    problems += unknown_names(policy.model_dump(), path)
    known = {ex.name: ex for ex in partner(policy.partner).extracts}
    for ex_name, columns in policy.extracts.items():
        if ex_name in known:
            problems += _check_columns(policy, known[ex_name], columns, name)
    return problems


def unknown_names(raw: object, path: Path) -> list[Problem]:
    """Extracts and columns the partner's schema does not have (works on the raw YAML too)."""
    if not isinstance(raw, dict) or path.stem not in PARTNER_NAMES:
        return []
    extracts = raw.get("extracts")
    known = {ex.name: ex for ex in partner(path.stem).extracts}
    problems = []
    for ex_name, columns in extracts.items() if isinstance(extracts, dict) else ():
        if ex_name not in known:
            problems.append(
                Problem(
                    str(path),
                    f"extracts.{ex_name}",
                    "POL011",
                    f"unknown extract; {path.stem} sends {', '.join(sorted(known))}",
                )
            )
            continue
        for col in columns if isinstance(columns, dict) else {}:
            if col not in known[ex_name].column_names:
                problems.append(
                    Problem(
                        str(path),
                        f"extracts.{ex_name}.{col}",
                        "POL012",
                        f"column is not in the {path.stem}/{ex_name} schema (see docs/schemas.md)",
                    )
                )
    return problems


def _check_columns(policy: Policy, ex: Extract, columns: dict, name: str) -> list[Problem]:
    problems = []
    for col in columns:
        key = f"extracts.{ex.name}.{col}"
        if col not in ex.column_names:
            continue  # reported by unknown_names
        treatments = policy.treatments(ex.name, col)
        if "drop" in treatments and len(treatments) > 1:
            problems.append(Problem(name, key, "POL013", "drop cannot be combined"))
        for t in treatments:
            if isinstance(t, Generalise) and ex.column(col).identity != GENERALISES[t.generalise]:
                problems.append(
                    Problem(
                        name,
                        key,
                        "POL014",
                        f"{t.generalise} applies only to a {GENERALISES[t.generalise]} column",
                    )
                )
    if "keep" not in policy.treatments(ex.name, ex.event_date):
        problems.append(
            Problem(
                name,
                f"extracts.{ex.name}.{ex.event_date}",
                "POL015",
                "the event date must be kept: needs are dated by it",
            )
        )
    return problems


def load_policy(partner_name: str, policy_dir: Path | None = None) -> Policy:
    """Load and check one partner's policy; raise PolicyError listing every problem."""
    path = policy_path(partner_name, policy_dir)
    policy, problems = _parse(path)
    if policy is not None:
        problems += check_policy(policy, path)
    if problems:
        raise PolicyError(problems)
    return policy


def check_all(policy_dir: Path | None = None) -> tuple[dict[str, Policy], list[Problem]]:
    """Load every partner's policy, collecting all problems instead of stopping at the first."""
    policies, problems = {}, []
    for name in PARTNER_NAMES:
        path = policy_path(name, policy_dir)
        policy, found = _parse(path)
        if policy is not None:
            found += check_policy(policy, path)
        if found:
            problems += found
        else:
            policies[name] = policy
    return policies, problems


def in_force(policy: Policy, on: dt.date) -> bool:
    return policy.agreement.valid_from <= on <= policy.agreement.valid_to


def require_in_force(policy: Policy, on: dt.date) -> None:
    """Stop before any partner data is read when the agreement does not cover the run date."""
    a = policy.agreement
    if not in_force(policy, on):
        raise AgreementNotInForceError(
            f"agreement {a.id} for {policy.partner} is valid {a.valid_from} to {a.valid_to}, "
            f"not on {on}; nothing from {policy.partner} was read. Fix: renew the agreement and "
            f"update agreement.valid_from/valid_to in {policy_path(policy.partner)}"
        )
