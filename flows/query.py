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

from flows.config import Zones
from governance import grants as grant_rules
from governance.audit import AuditLog, Signer
from governance.errors import GrantError
from governance.signing import trusted_keys
from governance.sql_sandbox import QueryRefusedError, check_query


class QueryFailed(Exception):
    """The query was allowed but did not run (a mistake in the SQL)."""

    exit_code = 9


def catalogue(zones: Zones) -> dict[str, Path]:
    """Registered tables an analyst may query, by name. Nothing else is reachable."""
    return {"cohort": zones.cohort}


def run_query(
    zones: Zones, sql: str, user_key: Path | str | None = None, today: dt.date | None = None
) -> pl.DataFrame:
    today = today or dt.date.today()
    tables = catalogue(zones)
    digest = {"sql_sha256": check_sha(sql)}
    try:
        user = grant_rules.load_user_key(user_key)
    except GrantError:
        AuditLog(zones.audit).append("query_refused", reason="R01", **digest)
        raise
    found = grant_rules.for_key(grant_rules.grants_dir(zones.root), user.key_id)
    decision = grant_rules.covering(found, trusted_keys(), grant_rules.ANALYST_ROLES, None, today)
    if decision.grant is None:
        AuditLog(zones.audit).append(
            "query_refused", reason=decision.code, user_key_id=user.key_id, **digest
        )
        raise GrantError(f"[{decision.code}] query refused: {decision.reason}")
    log = AuditLog(zones.audit, Signer(user.key_id, user.private, decision.grant))
    try:
        checked = check_query(sql, tables)
    except QueryRefusedError as exc:
        log.append("query_refused", reason=exc.code, **digest)
        raise
    frames = {name: pl.scan_parquet(tables[name]) for name in checked.tables}
    try:
        result = pl.SQLContext(frames).execute(checked.sql).collect()
    except Exception as exc:  # noqa: BLE001 - SQL mistakes are user errors
        log.append(
            "query", status="error", error=type(exc).__name__, tables=checked.tables, **digest
        )
        raise QueryFailed(
            f"the query did not run ({type(exc).__name__}{_detail(exc)}). Registered tables: "
            f"{', '.join(tables)}; see docs/schemas.md for their columns"
        ) from None
    log.append("query", status="ok", tables=checked.tables, rows_returned=result.height, **digest)
    return result


# Errors whose message quotes only the query itself (names the analyst typed), never table data.
SAFE_TO_QUOTE = (pl.exceptions.SQLSyntaxError, pl.exceptions.ColumnNotFoundError)


def _detail(exc: Exception) -> str:
    if isinstance(exc, SAFE_TO_QUOTE) and str(exc):
        return ": " + str(exc).splitlines()[0][:200]
    return ""  # other engine errors can quote a value from the table: not shown


def check_sha(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()
