"""Every partner the pipeline knows. A new partner is a new module named after it here."""

import importlib

from schemas.contract import Extract, Partner

PARTNER_NAMES = ("police", "nhs", "council", "dwp")


def partner(name: str) -> Partner:
    if name not in PARTNER_NAMES:
        raise KeyError(name)
    return importlib.import_module(f"schemas.{name}").PARTNER


def all_partners() -> list[Partner]:
    return [partner(n) for n in PARTNER_NAMES]


def all_extracts() -> list[Extract]:
    return [ex for p in all_partners() for ex in p.extracts]
