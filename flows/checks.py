"""great-expectations checks of every extract: suites from the contracts, run as checkpoints.

The suites are generated here from the contracts (and, for the pseudonymised suite, from the
columns the agreement stages); flows.gx_project writes them into the committed GX project
(`gx/`) and runs its checkpoints. Results and Data Docs carry expectation, column, success and
counts only: the checkpoints ask for partial_unexpected_count 0 and no unexpected rows, and
the suites use no expectation whose result shows an observed value (no min, max, mean or
value counts), so no value from a row is ever copied into a result or a page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from governance.pseudonymise import AGE_BANDS, apply_policy
from schemas.contract import Extract
from schemas.formats import NINO_PATTERN, POSTCODE_PATTERN
from schemas.rules import Rule, column_rules
from transforms.leaks import TEXT_TYPES  # staged text: a categorical too

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


def import_gx():
    """great_expectations, imported (seconds, the first time) with its analytics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # off before GX is imported
    import great_expectations as gx

    return gx


class _Expectations:
    """great_expectations.expectations, imported on first use: it takes seconds, and a night
    whose extracts are all staged already (a rerun, a recovery) never validates anything.
    `mcn run` imports it while Prefect's server boots, when that wait would be idle."""

    def __getattr__(self, name: str):
        return getattr(import_gx().expectations, name)


E = _Expectations()


def expectation(rule: Rule):
    """The expectation that reports a contract rule (schemas/rules.py), where GX has one."""
    col = rule.column
    if rule.kind == "required":
        return E.ExpectColumnValuesToNotBeNull(column=col.name)
    if rule.kind == "allowed":
        return E.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.allowed or ()))
    if rule.kind == "format" and col.format:
        return E.ExpectColumnValuesToMatchRegex(column=col.name, regex=RAW_SHAPES[col.format])
    return None  # checked by the quarantine only (bytes, lengths, dates need no suite)


def raw_suite(ex: Extract) -> list:
    """What a raw extract should look like, from the same rules the quarantine acts on
    (schemas/rules.py); failures are reported, the quarantine acts."""
    found = (expectation(r) for c in ex.columns for r in column_rules(c))
    return [e for e in found if e is not None]


def staged_suite(staged: pl.DataFrame | Mapping[str, pl.DataType], ex: Extract) -> list:
    """What a pseudonymised extract must look like: a gate, every expectation must pass.

    Takes the staged frame or its schema (see staged_schema): the suite depends on the columns
    the agreement stages, never on the rows."""
    schema = staged.schema if isinstance(staged, pl.DataFrame) else staged
    out = [
        E.ExpectColumnValuesToNotBeNull(column="record_key"),
        E.ExpectColumnValuesToBeUnique(column="record_key"),
    ]
    for name, dtype in schema.items():
        if name.startswith("tok_"):
            out.append(E.ExpectColumnValuesToMatchRegex(column=name, regex=r"^[0-9a-f]{32}$"))
        elif name in ex.column_names and ex.column(name).identity is None:
            col = ex.column(name)
            if col.required:
                out.append(E.ExpectColumnValuesToNotBeNull(column=name))
            if col.allowed and col.dtype == "str":
                out.append(E.ExpectColumnValuesToBeInSet(column=name, value_set=list(col.allowed)))
        if isinstance(dtype, TEXT_TYPES) and not name.startswith("tok_"):
            out += [
                E.ExpectColumnValuesToNotMatchRegex(column=name, regex=rx, meta={"rule": rule})
                for rule, rx in LEAK_SHAPES.items()
            ]
    if "age_band" in schema:
        out.append(
            E.ExpectColumnValuesToBeInSet(column="age_band", value_set=[b for _, b in AGE_BANDS])
        )
    return out


def suite_for(df: pl.DataFrame, ex: Extract, stage: str) -> list:
    return raw_suite(ex) if stage == "raw" else staged_suite(df, ex)


def staged_schema(ex: Extract, policy) -> pl.Schema:
    """The columns and types the agreement stages: the policy applied to no rows (the key is a
    throwaway one: no row is hashed)."""
    from governance.keys import SecretKey

    empty = pl.DataFrame(schema={c: pl.String for c in ex.column_names})
    key = SecretKey.from_hex(secrets.token_hex(32), "schema-only")
    return apply_policy(empty, ex, policy, key, dt.date(2000, 1, 1)).schema


def shipped_suites() -> dict[str, list]:
    """Every suite of the committed project: the contracts, and the shipped agreements."""
    from flows.gx_project import suite_name
    from governance.policy import POLICY_DIR, load_policy
    from schemas.registry import all_partners

    suites = {}
    for p in all_partners():
        policy = load_policy(p.name, POLICY_DIR, verify=False)
        for ex in p.extracts:
            suites[suite_name(p.name, ex.name, "raw")] = raw_suite(ex)
            schema = staged_schema(ex, policy)
            suites[suite_name(p.name, ex.name, "staged")] = staged_suite(schema, ex)
    return suites


# Keyword arguments GX adds to a result's copy of an expectation (not part of the check).
_RUN_KWARGS = ("batch_id", "result_format")


def describe(kind: str, kwargs: Mapping, meta: Mapping | None) -> str:
    """One expectation as a line, e.g. `expect_column_values_to_match_regex(column=tok_nhs,
    regex=...)`: its type, arguments (from the contract: column names, code lists, patterns)
    and rule name; never a value from a row. The committed list of checks is made of these."""
    args = {k: v for k, v in kwargs.items() if v is not None and k not in _RUN_KWARGS}
    if (meta or {}).get("rule"):
        args["rule"] = meta["rule"]  # type: ignore[index]
    text = ", ".join(
        f"{k}={json.dumps(v, sort_keys=True) if not isinstance(v, str) else v}"
        for k, v in sorted(args.items())
    )
    return f"{kind}({text})"


def describe_expectation(exp) -> str:
    cfg = exp.configuration
    return describe(cfg.type, cfg.kwargs, cfg.meta)


def row_rules(ex: Extract) -> list[str]:
    """Every row rule the quarantine evaluates on the extract (transforms/quality.py), by its
    reason name (`CODE:column`)."""
    from transforms.quality import rule_flags

    return [e.meta.output_name() for e in rule_flags(ex, dt.date(2000, 1, 1))]


def checks_per_extract() -> dict[str, dict[str, list[str]]]:
    """Every check run on every extract under the shipped agreements: the raw suite, the row
    rules, the pseudonymised suite, each sorted (GX reports a suite's results in its own order).
    tests/data/checks_per_extract.json holds the committed copy;
    a test compares it with this and with what a night records (checks.<partner>.<extract>.json)
    so no check is dropped unnoticed (`uv run python -m tests.check_list` rewrites it)."""
    from flows.gx_project import suite_name
    from schemas.registry import all_extracts

    suites = shipped_suites()
    out = {}
    for ex in all_extracts():
        out[f"{ex.partner}/{ex.name}"] = {
            "raw_expectations": sorted(
                describe_expectation(e) for e in suites[suite_name(ex.partner, ex.name, "raw")]
            ),
            "row_rules": sorted(row_rules(ex)),
            "staged_expectations": sorted(
                describe_expectation(e) for e in suites[suite_name(ex.partner, ex.name, "staged")]
            ),
        }
    return out


def summary(r) -> dict:
    """One safe row per expectation result: names and counts, never a value."""
    cfg = r.expectation_config
    return {
        "check": describe(cfg.type, cfg.kwargs, cfg.meta),
        "expectation": cfg.type,
        "column": cfg.kwargs.get("column"),
        "rule": (cfg.meta or {}).get("rule"),
        "success": bool(r.success),
        "unexpected_count": int((r.result or {}).get("unexpected_count") or 0),
    }


def failures(summaries: list[dict]) -> list[dict]:
    return [s for s in summaries if not s["success"]]


def gx_frame(df: pl.DataFrame, expectations: list) -> pl.DataFrame:
    """Only the columns the suite names: the table GX's SQL reads (flows/gx_engine.py) holds
    nothing a check does not need."""
    return df.select(list(dict.fromkeys(e.column for e in expectations)))


def validate(df: pl.DataFrame, ex: Extract, stage: str, run_dir: Path) -> list[dict]:
    """Run the extract's checkpoint for this stage ("raw" or "staged") on the frame; the GX
    result and Data Docs go to run_dir/gx/. One safe summary row per expectation."""
    from flows.gx_project import run_checkpoint, suite_name

    expectations = suite_for(df, ex, stage)
    name = suite_name(ex.partner, ex.name, stage)
    frame = gx_frame(df, expectations)
    # A staged suite fails only on a leak or a pipeline fault: counted when it does
    result = run_checkpoint(name, expectations, frame, run_dir, counts_on_failure=stage == "staged")
    return [summary(r) for r in result.results]


def gx_record(run_dir: Path, ex: Extract) -> dict:
    """Where this extract's checkpoints, GX results and Data Docs are, relative to run_dir."""
    from flows.gx_project import data_docs_index, gx_dir, suite_name

    out = gx_dir(run_dir)
    names = [suite_name(ex.partner, ex.name, s) for s in ("raw", "staged")]
    generated = [n for n in names if (out / "project" / "checkpoints" / f"{n}.json").is_file()]
    results = sorted((out / "validations" / ex.partner / ex.name).rglob("*.json"))
    return {
        "checkpoints": names,
        # The committed gx/ project, unless the agreement in force stages other columns than
        # the shipped one: then the suites were generated for it into the run's gx/project/.
        "project": "gx/project" if generated else "repository gx/",
        "results": [str(p.relative_to(run_dir)) for p in results],
        "data_docs": str(data_docs_index(run_dir).relative_to(run_dir)),
    }
