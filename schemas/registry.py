"""Every partner the pipeline knows, and where its files are. The one list of partners.

A partner is one unit: its files carry its name, the same name in each package, and nothing
else in the code names it:

    schemas/partners/<name>.py       its data contract (`PARTNER`)
    governance/policies/<name>.yaml  its signed data-sharing agreement (and `.yaml.sig`)
    transforms/partners/<name>.py    its qualifying events (`EVENTS`), which frameworks count
    flows/partners/<name>.py         its synthetic data generator (`SYNTH`)

Adding a partner is adding those files and one `Entry` below (README, "Adding a partner").
CLI choices, synthetic data, needs, generated docs, GX suites and the data-flow map all come
from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from schemas.contract import Extract, Partner

# The packages that hold a module per partner, in import order.
Layer = Literal["schemas", "transforms", "flows"]


@dataclass(frozen=True)
class Entry:
    """One partner: its name, and the import prefix of the packages holding its modules
    ("" for this repository; another prefix for partner files kept elsewhere on sys.path)."""

    name: str
    root: str = ""
    kind: Literal["partner", "list"] = "partner"

    def module(self, layer: Layer) -> ModuleType:
        return importlib.import_module(f"{self.root}{layer}.partners.{self.name}")


PARTNERS: tuple[Entry, ...] = (
    Entry("police"),
    Entry("nhs"),
    Entry("council"),
    Entry("dwp"),
    Entry("probation"),
)


# Partnership lists: files the partnership keeps itself (not a service's records), ingested
# under their own signed agreement like a partner's extract (schemas/partners/<name>.py,
# governance/policies/<name>.yaml) but never linked into the cohort and not in partner_names().
LISTS: tuple[Entry, ...] = (Entry("interventions", kind="list"),)


def partner_names() -> tuple[str, ...]:
    return tuple(e.name for e in PARTNERS)


def list_names() -> tuple[str, ...]:
    return tuple(e.name for e in LISTS)


def agreement_names() -> tuple[str, ...]:
    """Everything ingested under a signed agreement: the partners, then the lists."""
    return partner_names() + list_names()


def entry(name: str) -> Entry:
    for e in (*PARTNERS, *LISTS):
        if e.name == name:
            return e
    raise KeyError(name)


def partner_module(name: str, layer: Layer) -> ModuleType:
    """The partner's own module in one package (its contract, need rules or generator)."""
    return entry(name).module(layer)


def partner(name: str) -> Partner:
    contract: Partner = partner_module(name, "schemas").PARTNER
    return contract


def all_partners() -> list[Partner]:
    """Every contract with an agreement: the partners', then the lists' (for checks, docs and
    the record of processing). The cohort uses only partner_names()."""
    return [partner(n) for n in agreement_names()]


def all_extracts() -> list[Extract]:
    return [ex for p in all_partners() for ex in p.extracts]


def partner_extracts() -> list[Extract]:
    """The extracts a night links: the partners' (partner_names()), not the lists'."""
    return [ex for name in partner_names() for ex in partner(name).extracts]
