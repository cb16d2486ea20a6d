"""`mcn query`: analyst SQL over the catalogue of registered tables, under a grant, audited.

The query runs only if the user's own key holds an IG-signed analyst grant, and only after the
SQL sandbox (governance.sql_sandbox) has parsed it and found nothing but registered tables. The
SQL that runs is regenerated from the checked tree. Every query, run or refused, is in the audit
log: who, under which grant, the SHA-256 of the SQL (never its text, which may quote a value),
the tables read and the rows returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

from flows import publish
from flows.config import Zones
from flows.errors import PublishedIntegrityError, QueryFailed
from governance import grants as grant_rules
from governance.audit import AuditLog, Signer, revoked_grants
from governance.disclosure import DisclosureRules, strictest
from governance.errors import GrantError, QueryRefusedError
from governance.output_check import AggregateOnlyError, aggregate_shape, controlled_result
from governance.signing import trusted_keys
from governance.sql_sandbox import check_query
from schemas import cohort


def catalogue(zones: Zones) -> dict[str, Path]:
    """Registered tables an analyst may query, by name: `cohort`, and each further needs
    framework's cohort of the current set (`cohort_<framework>`). Nothing else is reachable."""
    import json

    tables = {"cohort": zones.cohort}
    manifest = publish.read_manifest(zones) or {}
    try:
        listed = json.loads(manifest.get("mcn.frameworks") or "[]")
    except ValueError:
        listed = []
    for f in listed if isinstance(listed, list) else []:
        table = str(f.get("table", "")) if isinstance(f, dict) else ""
        if table.startswith("cohort_") and table.replace("_", "").isalnum():
            tables[table] = zones.current / f"{table}.parquet"
    return tables


# Per registered table: its columns (contract dtypes) and those a default analyst may group by;
# every framework's cohort has the cohort contract.
COHORT_COLUMNS = {c.name: c.dtype for c in cohort.COLUMNS}


def table_columns(tables: dict[str, Path]) -> dict[str, dict[str, str]]:
    return {t: COHORT_COLUMNS for t in tables}


def groupable(tables: dict[str, Path]) -> dict[str, set[str]]:
    return {t: set(cohort.GROUPABLE) for t in tables}


def authorise(
    zones: Zones, user_key: Path | str | None, today: dt.date, digest: dict
) -> tuple[AuditLog, bool]:
    """The user's audit log writer under their covering analyst grant, and whether that grant
    is an accredited (row-level) one; a refusal is audited, then raised."""
    try:
        user = grant_rules.load_user_key(user_key)
    except GrantError:
        AuditLog(zones.audit).append("query_refused", reason="R01", **digest)
        raise
    found = grant_rules.for_key(grant_rules.grants_dir(zones.root), user.key_id)
    revoked = revoked_grants(zones.audit, trusted_keys())
    decision = grant_rules.covering(
        found, trusted_keys(), grant_rules.ANALYST_ROLES, None, today, revoked=revoked
    )
    if decision.grant is None:
        AuditLog(zones.audit).append(
            "query_refused", reason=decision.code, user_key_id=user.key_id, **digest
        )
        raise GrantError(f"[{decision.code}] query refused: {decision.reason}")
    log = AuditLog(zones.audit, Signer(user.key_id, user.private, decision.grant))
    return log, decision.grant["role"] in grant_rules.ACCREDITED_ROLES


def agreement_rules() -> DisclosureRules:
    """The strictest disclosure rules of every agreement (an agreement that cannot be read
    counts as the defaults, never as looser)."""
    from governance.errors import PolicyError
    from governance.policy import load_policy
    from schemas.registry import partner_names

    found = []
    for name in partner_names():
        try:
            found.append(load_policy(name, verify=False).agreement.disclosure.rules)
        except PolicyError:
            found.append(DisclosureRules())
    return strictest(found)


def run_query(
    zones: Zones, sql: str, user_key: Path | str | None = None, today: dt.date | None = None
) -> pl.DataFrame:
    today = today or dt.date.today()
    tables = catalogue(zones)
    digest = {"sql_sha256": check_sha(sql)}
    log, row_level = authorise(zones, user_key, today, digest)
    try:
        checked = check_query(sql, tables)
        shape = (
            None
            if row_level
            else aggregate_shape(checked.sql, table_columns(tables), groupable(tables))
        )
    except (QueryRefusedError, AggregateOnlyError) as exc:
        log.append("query_refused", reason=exc.code, **digest)
        raise
    try:
        frames = {
            name: pl.scan_parquet(publish.verified_table(zones, name)) for name in checked.tables
        }
    except PublishedIntegrityError:
        log.append("query_refused", reason="I01", tables=checked.tables, **digest)
        raise
    # audited before it runs: a query that crashes the engine is still on record
    log.append("query", status="started", tables=checked.tables, row_level=row_level, **digest)
    try:
        result = pl.SQLContext(frames).execute(checked.sql).collect()
    except Exception as exc:  # noqa: BLE001 - SQL mistakes are user errors
        log.append("query_finished", status="error", error=type(exc).__name__, **digest)
        raise QueryFailed(
            f"the query did not run ({type(exc).__name__}{_detail(exc)}). Registered tables: "
            f"{', '.join(tables)}; see docs/schemas.md for their columns"
        ) from None
    if shape is None:
        log.append("query_finished", status="ok", rows_returned=result.height, **digest)
        return result
    controlled = controlled_result(result, shape, agreement_rules())
    log.append(
        "query_finished",
        status="ok",
        rows_returned=controlled.published.height,
        disclosure=controlled.record(),
        **digest,
    )
    return controlled.published


# Errors whose message quotes only the query itself (names the analyst typed), never table data.
SAFE_TO_QUOTE = (pl.exceptions.SQLSyntaxError, pl.exceptions.ColumnNotFoundError)


def _detail(exc: Exception) -> str:
    if isinstance(exc, SAFE_TO_QUOTE) and str(exc):
        return ": " + str(exc).splitlines()[0][:200]
    return ""  # other engine errors can quote a value from the table: not shown


def check_sha(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()
