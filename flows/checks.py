"""great-expectations suites generated from the contracts, and a safe summary of their results.

Results are asked for with partial_unexpected_count 0 and no unexpected rows, so no value from
a row is ever copied into a result; the summary keeps expectation, column, success and counts.
"""

from __future__ import annotations

import os
import threading
from functools import cache

import polars as pl

from governance.pseudonymise import AGE_BANDS
from schemas.contract import Extract
from schemas.formats import NINO_PATTERN, POSTCODE_PATTERN

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
import great_expectations as gx  # noqa: E402 - analytics must be off before import
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

SAFE_RESULT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unique_unexpected": False,
}
# Shapes of raw identifiers; no staged text cell may have one.
LEAK_SHAPES = {
    "nhs_number_shape": r"^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$",
    "nino_shape": NINO_PATTERN,
    "postcode_shape": POSTCODE_PATTERN,
    "date_shape": r"^[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}$",
}
RAW_SHAPES = {
    "nhs_number": r"^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$",
    "nino": r"^[A-Za-z0-9 ]{9,11}$",
    "postcode": r"^[A-Za-z0-9 ]{5,9}$",
}
_lock = threading.Lock()
E = gx.expectations


@cache
def _context():
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def raw_suite(ex: Extract) -> list:
    """What a raw extract should look like; failures are reported, the quarantine acts."""
    out = []
    for col in ex.columns:
        if col.required:
            out.append(E.ExpectColumnValuesToNotBeNull(column=col.name))
        if col.allowed:
            out.append(E.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.allowed)))
        if col.format:
            out.append(
                E.ExpectColumnValuesToMatchRegex(column=col.name, regex=RAW_SHAPES[col.format])
            )
    return out


def staged_suite(staged: pl.DataFrame, ex: Extract) -> list:
    """What a pseudonymised extract must look like: a gate, every expectation must pass."""
    out = [
        E.ExpectColumnValuesToNotBeNull(column="record_key"),
        E.ExpectColumnValuesToBeUnique(column="record_key"),
    ]
    for name, dtype in staged.schema.items():
        if name.startswith("tok_"):
            out.append(E.ExpectColumnValuesToMatchRegex(column=name, regex=r"^[0-9a-f]{32}$"))
        elif name in ex.column_names and ex.column(name).identity is None:
            col = ex.column(name)
            if col.required:
                out.append(E.ExpectColumnValuesToNotBeNull(column=name))
            if col.allowed and col.dtype == "str":
                out.append(E.ExpectColumnValuesToBeInSet(column=name, value_set=list(col.allowed)))
        if dtype == pl.String and not name.startswith("tok_"):
            out += [
                E.ExpectColumnValuesToNotMatchRegex(column=name, regex=rx, meta={"rule": rule})
                for rule, rx in LEAK_SHAPES.items()
            ]
    if "age_band" in staged.columns:
        out.append(
            E.ExpectColumnValuesToBeInSet(column="age_band", value_set=[b for _, b in AGE_BANDS])
        )
    return out


def validate(df: pl.DataFrame, expectations: list, name: str) -> list[dict]:
    """Run expectations on a frame; one safe summary row per expectation."""
    with _lock:
        ctx = _context()
        suite = gx.ExpectationSuite(name=f"{name}-{id(df)}")
        for exp in expectations:
            suite.add_expectation(exp)
        source = ctx.data_sources.add_or_update_pandas(f"src-{name}")
        asset = source.add_dataframe_asset(f"asset-{id(df)}")
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": df.to_pandas()}
        )
        result = batch.validate(suite, result_format=SAFE_RESULT)
    return [_summary(r) for r in result.results]


def _summary(r) -> dict:
    cfg = r.expectation_config
    return {
        "expectation": cfg.type,
        "column": cfg.kwargs.get("column"),
        "rule": (cfg.meta or {}).get("rule"),
        "success": bool(r.success),
        "unexpected_count": int((r.result or {}).get("unexpected_count") or 0),
    }


def failures(summaries: list[dict]) -> list[dict]:
    return [s for s in summaries if not s["success"]]
