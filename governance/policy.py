"""Data-sharing agreement policies: the model, the loader and the checks.

A policy file (governance/policies/<partner>.yaml) holds the agreement's particulars and a
treatment for every column of each extract the partner sends (the model: governance.agreement).
Deny by default: the engine passes on only what a policy names; `mcn policy check` fails a
policy that leaves a schema column without a treatment, so every column is a decision.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from governance.agreement import GENERALISES, Generalise, Policy
from governance.errors import (
    AgreementNotInForceError,
    PolicyError,
    PolicySignatureError,
    Problem,
)
from governance.signing import Approval, verify_policy
from schemas.contract import Extract
from schemas.registry import list_names, partner, partner_names

POLICY_DIR = Path(__file__).parent / "policies"
ENV_POLICY_DIR = "MCN_POLICY_DIR"  # where a partnership keeps its reviewed policies


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


def _describe(err: Mapping[str, Any]) -> str:
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "extra_forbidden":
        return "unknown field (check spelling against docs/governance.md)"
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
    schema = partner(policy.partner)
    known = {ex.name: ex for ex in schema.extracts}
    for ex_name, columns in policy.extracts.items():
        if ex_name in known:
            problems += _check_columns(policy, known[ex_name], columns, name)
    for ex in schema.extracts:
        problems += [
            Problem(
                name,
                f"extracts.{ex.name}.{col}",
                "POL016",
                "schema column has no "
                "treatment; name it with drop, keep, pseudonymise or generalise",
            )
            for col in policy.unnamed(ex)
        ]
    return problems + _check_agreement(policy, name)


# Identity roles that single a person out on their own: never staged as they are. (Sex is an
# identity role for linkage but identifies no one.)
DIRECT_IDENTIFIERS = frozenset(
    {"forename", "surname", "dob", "postcode", "nhs_number", "nino", "other_id"}
)
CONDITIONS = {
    "special": ("special_category_condition", "POL020", "Article 9 special category"),
    "criminal_offence": ("criminal_offence_condition", "POL021", "Article 10 criminal offence"),
}


def _check_agreement(policy: Policy, name: str) -> list[Problem]:
    """Rules about the agreement's particulars, each with its code."""
    a, problems = policy.agreement, []
    schema = partner(policy.partner)
    for category, (field, code, label) in CONDITIONS.items():
        used = [
            f"{ex.name}.{c.name}"
            for ex in schema.extracts
            for c in ex.columns
            if c.category == category and policy.passes(ex.name, c.name)
        ]
        if used and not getattr(a, field):
            problems.append(
                Problem(
                    name,
                    f"agreement.{field}",
                    code,
                    f"{label} data is shared ({', '.join(used)}) but no condition is recorded",
                )
            )
    if not a.valid_from <= a.review_date <= a.valid_to:
        problems.append(
            Problem(
                name,
                "agreement.review_date",
                "POL022",
                "review date must fall between valid_from and valid_to",
            )
        )
    for i, party in enumerate(a.parties):
        if party.signs and len(party.approvers) < party.approvals_required:
            problems.append(
                Problem(
                    name,
                    f"agreement.parties.{i}.approvers",
                    "POL027",
                    f"{party.name} must sign ({party.role}) but names {len(party.approvers)} "
                    f"approver key(s) for {party.approvals_required} signature(s): add their key "
                    "ids (`mcn policy keygen` prints them)",
                )
            )
    named: dict[str, str] = {}
    for party in (p for p in a.parties if p.signs):
        for key_id in party.approvers:
            if named.setdefault(key_id, party.name) != party.name:
                problems.append(
                    Problem(
                        name,
                        "agreement.parties",
                        "POL028",
                        f"approver {key_id} is named for both {named[key_id]} and {party.name}: "
                        "each party's approval must come from its own people",
                    )
                )
    if a.reidentification and a.retention.vault > a.retention.staged:
        problems.append(
            Problem(
                name,
                "agreement.retention.vault",
                "POL026",
                f"vault entries kept {a.retention.vault} days, longer than the staged data they "
                f"serve ({a.retention.staged}): keep them no longer than staged",
            )
        )
    if schema.national_data_opt_out and not (a.opt_out and a.opt_out.national_data_opt_out):
        problems.append(
            Problem(
                name,
                "agreement.opt_out",
                "POL024",
                "health and adult social care data must apply the national data opt-out "
                "(national_data_opt_out: true)",
            )
        )
    return problems


def unknown_names(raw: object, path: Path) -> list[Problem]:
    """Extracts and columns the partner's schema does not have (works on the raw YAML too)."""
    if not isinstance(raw, dict) or path.stem not in partner_names():
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
        if "keep" in treatments and ex.column(col).identity in DIRECT_IDENTIFIERS:
            problems.append(
                Problem(
                    name,
                    key,
                    "POL017",
                    f"a direct identifier ({ex.column(col).identity}) cannot be kept as it is: "
                    "pseudonymise it, and generalise it where a coarse form is needed",
                )
            )
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
    if ex.event_date in columns and "keep" not in policy.treatments(ex.name, ex.event_date):
        problems.append(
            Problem(
                name,
                f"extracts.{ex.name}.{ex.event_date}",
                "POL015",
                "the event date must be kept: needs are dated by it",
            )
        )
    return problems


def _problems(path: Path, verify: bool, on: dt.date | None) -> tuple[Policy | None, list]:
    policy, problems = _parse(path)
    if policy is not None:
        problems += check_policy(policy, path)
        if on is not None and not in_force(policy, on):
            a = policy.agreement
            problems.append(
                Problem(
                    str(path),
                    "agreement.valid_to",
                    "POL025",
                    f"not in force on {on} (valid {a.valid_from} to {a.valid_to})",
                )
            )
    if verify and path.exists():
        try:
            verify_policy(path)
        except PolicySignatureError as exc:
            problems.append(Problem(str(path), "signature", exc.code, str(exc).split("] ", 1)[1]))
    return policy, problems


def load_policy(partner_name: str, policy_dir: Path | None = None, verify: bool = True) -> Policy:
    """Load, check and (by default) verify the signature of one partner's policy.

    Raises PolicyError listing every problem, signature problems included.
    """
    policy, problems = _problems(policy_path(partner_name, policy_dir), verify, None)
    if problems or policy is None:
        raise PolicyError(problems)
    return policy


def load_approved(partner_name: str, policy_dir: Path | None = None) -> tuple[Policy, Approval]:
    """A checked policy and the signed approval of its exact text (for the audit log)."""
    policy = load_policy(partner_name, policy_dir)
    return policy, verify_policy(policy_path(partner_name, policy_dir))


def check_all(
    policy_dir: Path | None = None,
    verify: bool = True,
    on: dt.date | None = None,
    names: list[str] | None = None,
) -> tuple[dict[str, Policy], list[Problem]]:
    """Load every partner's policy (or those named), collecting all problems instead of
    stopping at the first."""
    policies, problems = {}, []
    for name in names or partner_names():
        policy, found = _problems(policy_path(name, policy_dir), verify, on)
        problems += found
        if policy is not None and not found:
            policies[name] = policy
    return policies, problems


def agreements_in(policy_dir: Path | None = None) -> list[str]:
    """Every partner's policy (a missing one is a problem), and each partnership list's whose
    file is there (a partnership that keeps no intervention list needs no agreement for it)."""
    present = [n for n in list_names() if policy_path(n, policy_dir).exists()]
    return [*partner_names(), *present]


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
