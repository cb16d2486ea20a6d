"""The steps of ingesting one extract, as plain functions the Prefect tasks call.

read -> opt-out -> raw checks -> quarantine -> apply the agreement -> staged checks and leak scan
-> seal contact identity in the vault -> stage -> audit. Only counts, column names, rule names,
hashes and key ids leave these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import polars as pl

from flows import checks
from flows.config import Zones
from flows.io import (
    checked_content,
    read_as,
    read_rows,
    write_json_atomic,
    write_parquet_atomic,
)
from flows.reader import RAW_LINE, SOURCE_ROW
from flows.staging import (
    Binding,
    read_staged_meta,
    staged_files,
    staged_path,
    vault_path,
    write_staged,
    write_vault,
)
from governance.agreement import Policy
from governance.audit import AuditLog
from governance.errors import LeakError
from governance.keys import SecretKey
from governance.optout import OptOutList, remove_opted_out, remove_opted_out_lines
from governance.pseudonymise import apply_policy, vault_columns
from governance.signing import Approval
from governance.vault import VaultKey, seal
from schemas.contract import Extract
from transforms.leaks import leak_counts
from transforms.quality import reason_counts, split_rows


@dataclass
class ExtractCounts:
    partner: str
    extract: str
    rows_in: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    rows_opted_out: int = 0
    rows_optout_unchecked: int = 0  # opt-out applies, but the row has no valid NHS number
    reasons: dict[str, int] = field(default_factory=dict)
    raw_check_failures: int = 0
    content_sha256: str = ""
    key_id: str = ""
    policy_sha256: str = ""
    vault_key_id: str = ""
    staged_on: str = ""
    run_date: str = ""  # the night it was ingested for (freshness of a partner's data)
    already_staged: bool = False
    notices: dict[str, int] = field(default_factory=dict)  # notice code -> count (schemas.codes)
    extract_date: str = ""  # the manifest's extract_date, when it gives one
    read_as: dict = field(default_factory=dict)  # how it was read (flows.io.read_as)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IngestContext:
    """Everything one partner's ingest runs under. Keys stay in memory, never in parameters."""

    zones: Zones
    policy: Policy
    approval: Approval
    key: SecretKey
    run_date: dt.date
    run_id: str
    audit: AuditLog
    vault_key: VaultKey | None = None
    optout: OptOutList | None = None

    @property
    def binding(self) -> Binding:
        return Binding(self.approval.sha256, self.key.key_id)

    def binding_details(self) -> dict:
        return {"policy_sha256": self.approval.sha256, "key_id": self.key.key_id}

    def agreement_details(self) -> dict:
        a = self.policy.agreement
        return {
            "agreement_id": a.id,
            "policy_sha256": self.approval.sha256,
            "approved_by": self.approval.approver,
            "approver_key_id": self.approval.key_id,
            "policy_signers": [
                {k: s[k] for k in ("approver", "key_id", "parties", "signed_at") if k in s}
                for s in self.approval.signers
            ],
        }


def process_extract(ctx: IngestContext, ex: Extract, manifest: dict) -> ExtractCounts:
    zones = ctx.zones
    folder = zones.landing / ex.partner
    content = checked_content(folder, ex, manifest)
    target = staged_path(zones, ex, content, ctx.binding)
    meta = read_staged_meta(target, ctx.key)  # None when missing, or not the pipeline's
    reading = read_as(manifest[ex.file])
    # the same file read as its manifest now says, by this reader: staged already. Read
    # otherwise (the partner has since declared its encoding or blank values, as a notice's fix
    # asks; or an earlier reader read it), it is read again and its staged file replaced, so
    # the fix works without a new file.
    if meta is not None and meta.get("read_as", {}) == reading:
        done = ExtractCounts(**_counts_fields(meta))
        done.already_staged = True
        done.notices = {**done.notices, "ALREADY_STAGED": 1}
        _audit(ctx, ex, done, {}, event="ingest_already_staged")
        return done
    read = read_rows(folder, ex, manifest)
    counts = ExtractCounts(
        ex.partner,
        ex.name,
        rows_in=read.records,
        content_sha256=content,
        key_id=ctx.key.key_id,
        policy_sha256=ctx.approval.sha256,
        staged_on=dt.date.today().isoformat(),
        run_date=ctx.run_date.isoformat(),
        notices=dict(read.notices),
        extract_date=manifest[ex.file].get("extract_date") or "",
        read_as=reading,
    )
    if _late(zones, ex, counts.extract_date, ctx.key):
        counts.notices["LATE_EXTRACT"] = 1
    if read.records == 0:
        counts.notices["NO_ROWS"] = 1
    raw, rejected = read.rows, read.rejected
    if ctx.optout is not None and ex.national_data_opt_out:
        result = remove_opted_out(raw, ex, ctx.optout)
        rejected, lines_out = remove_opted_out_lines(rejected, RAW_LINE, ex, ctx.optout)
        raw, counts.rows_opted_out = result.kept, result.removed + lines_out
        counts.rows_optout_unchecked = result.unchecked
        del result
    raw_results = checks.validate(raw.drop(SOURCE_ROW), ex, "raw", zones.runs / ctx.run_id)
    good, bad = split_rows(raw, ex, ctx.run_date)
    bad = pl.concat([bad, rejected], how="diagonal_relaxed").sort(SOURCE_ROW)
    del raw, read, rejected  # the rows live on in good and bad, not a third copy
    counts.rows_quarantined, counts.reasons = bad.height, reason_counts(bad)
    counts.raw_check_failures = len(checks.failures(raw_results))
    if bad.height:
        write_parquet_atomic(bad, zones.quarantine / ex.partner / ctx.run_id / f"{ex.name}.parquet")
    good = good.drop(SOURCE_ROW)
    staged = apply_policy(good, ex, ctx.policy, ctx.key, ctx.run_date)
    _check_staged(ctx, ex, staged, good, raw_results)
    outputs = {}
    identity = vault_columns(ex, ctx.policy)
    if ctx.vault_key is not None and identity:
        vault = vault_path(zones, ex, content, ctx.binding)
        sealed = seal(
            good, identity, staged["record_key"], ctx.vault_key, f"{ex.partner}/{ex.name}"
        )
        outputs[str(vault.relative_to(zones.root))] = write_vault(
            vault,
            sealed,
            {
                "sealed_on": counts.staged_on,
                "vault_key_id": ctx.vault_key.key_id,
                "columns": identity,
                "agreement_id": ctx.policy.agreement.id,
                "rows": good.height,
                **ctx.binding_details(),
                "content_sha256": content,
            },
            ctx.vault_key,
        )
        counts.vault_key_id = ctx.vault_key.key_id
    del good  # sealed: only the staged frame is written from here
    counts.rows_staged = staged.height
    if counts.rows_in != counts.rows_staged + counts.rows_quarantined + counts.rows_opted_out:
        raise RuntimeError(f"{ex.partner}/{ex.name}: rows in != staged + quarantined + opted out")
    outputs[str(target.relative_to(zones.root))] = write_staged(
        target, staged, counts.as_dict(), ctx.key
    )
    _audit(ctx, ex, counts, outputs, event="ingest")
    return counts


def _late(zones, ex: Extract, extract_date: str, key) -> bool:
    """Is a newer extract than this one already staged (any policy, this key)?"""
    if not extract_date:
        return False
    return any(
        str(f.meta.get("extract_date") or "") > extract_date for f in staged_files(zones, ex, key)
    )


def _counts_fields(meta: dict) -> dict:
    """The ExtractCounts fields of a sidecar (which may carry more, e.g. restaging notes)."""
    names = ExtractCounts.__dataclass_fields__
    return {k: v for k, v in meta.items() if k in names}


def _check_staged(
    ctx: IngestContext,
    ex: Extract,
    staged: pl.DataFrame,
    good: pl.DataFrame,
    raw_results: list[dict],
) -> None:
    """Checks on the pseudonymised frame and the leak scan: a gate, nothing staged on failure."""
    run_dir = ctx.zones.runs / ctx.run_id
    staged_results = checks.validate(staged, ex, "staged", run_dir)
    leaks = {c: n for c, n in leak_counts(staged, good, ex).items() if n}
    report = {
        "raw": raw_results,
        "row_rules": checks.row_rules(ex),  # what split_rows evaluated (rule_flags)
        "staged": staged_results,
        "leak_scan": leaks,
        "gx": checks.gx_record(run_dir, ex),
    }
    write_json_atomic(report, ctx.zones.runs / ctx.run_id / f"checks.{ex.partner}.{ex.name}.json")
    failed = checks.failures(staged_results)
    if failed or leaks:
        rules = sorted(
            {f"{f['expectation']}:{f['column']}" for f in failed} | {f"leak:{c}" for c in leaks}
        )
        raise LeakError(
            f"{ex.partner}/{ex.name}: pseudonymised rows failed {len(rules)} "
            f"check(s) ({', '.join(rules)}); nothing was staged. See "
            f"{ctx.zones.runs / ctx.run_id} for counts, then fix the policy or the "
            "schema."
        )


def _audit(
    ctx: IngestContext, ex: Extract, counts: ExtractCounts, outputs: dict, event: str
) -> None:
    optout = (
        {"optout_as_of": ctx.optout.as_of.isoformat(), "optout_sha256": ctx.optout.sha256}
        if ctx.optout is not None
        else {}
    )
    ctx.audit.append(
        event,
        run_id=ctx.run_id,
        flow="ingest_partner",
        partner=ex.partner,
        extract=ex.name,
        run_date=ctx.run_date.isoformat(),
        **ctx.agreement_details(),
        staged_under_policy_sha256=counts.policy_sha256,
        **optout,
        inputs={f"landing/{ex.partner}/{ex.file}": counts.content_sha256},
        rows_in=counts.rows_in,
        rows_staged=counts.rows_staged,
        rows_quarantined=counts.rows_quarantined,
        rows_opted_out=counts.rows_opted_out,
        rows_optout_unchecked=counts.rows_optout_unchecked,
        quarantine_reasons=counts.reasons,
        notices=counts.notices,
        extract_date=counts.extract_date or None,
        key_ids={"linkage": counts.key_id, "vault": counts.vault_key_id or None},
        outputs=outputs,
    )
