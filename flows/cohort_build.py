"""Building the cohort from staged data, as plain functions the build_cohort flow calls."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from flows import history, publish
from flows.config import Zones
from flows.errors import StalePartnerError
from flows.io import write_json_atomic
from flows.linkage_chart import write_model_chart
from flows.runs import DEFAULT_MAX_STALE_DAYS
from flows.staging import (
    Binding,
    Keys,
    StagedFile,
    current_files,
    hashing_staged_files_once,
    rebind,
    require_current,
)
from governance import objections
from governance.agreement import Policy
from governance.audit import AuditLog, read_entries
from governance.errors import (
    AgreementNotInForceError,
    KeyMissingError,
    PolicyError,
    StagingError,
)
from governance.keys import SecretKey, load_linkage_key
from governance.match_keys import key_named, token_column
from governance.optout import OptOutList, current_list, optout_tokens, require_fresh
from governance.policy import load_approved, require_in_force
from governance.signing import trusted_keys
from governance.vault import VaultKey, load_vault_key
from schemas.registry import all_extracts, partner, partner_names
from transforms.cohort import cohort_table
from transforms.evaluate import pairwise_quality
from transforms.exclusions import Excluded, exclude_persons, listed_records
from transforms.framework import Framework, load_all, slug
from transforms.link import TOKEN_COLUMNS, as_codes, link_records, token_dtype
from transforms.linkage_quality import linkage_quality
from transforms.needs import need_events
from transforms.service_use import service_use_table, use_events

NHS_TOKEN = token_column(key_named("nhs"))
RECORD_COLUMNS = (
    "record_key",
    "partner",
    "extract",
    "record_ref",
    "event_date",
    "age_band",
    "postcode_district",
    "sex",
)


@dataclass(frozen=True)
class BuildContext:
    """What a build runs under, made once: the partners whose agreement is signed and in force
    (with the binding their staged data must have), the linkage key and the opt-out list."""

    bindings: dict[str, Binding]
    policies: dict[str, Policy]
    excluded: dict[str, str]  # partner -> why its data is not used tonight
    key: SecretKey
    optout: OptOutList | None
    vault_key: VaultKey | None = None
    objections: list[dict] = field(default_factory=list)  # Article 21, local (mcn ig object)

    @property
    def keys(self) -> Keys:
        return Keys(self.key, self.vault_key)


def build_context(zones: Zones, run_date: dt.date) -> BuildContext:
    key = load_linkage_key()
    bindings, policies, excluded, covered = {}, {}, {}, []
    for name in partner_names():
        try:
            policy, approval = load_approved(name)
            require_in_force(policy, run_date)
        except (PolicyError, AgreementNotInForceError) as exc:
            excluded[name] = type(exc).__name__
            continue
        bindings[name] = Binding(approval.sha256, key.key_id)
        policies[name] = policy
        if partner(name).national_data_opt_out:
            covered.append(policy)
    optout = None
    entries = read_entries(zones.audit) if (zones.audit / "audit.jsonl").exists() else []
    objected = objections.load(zones.root / "objections", key, objections.recorded_count(entries))
    if covered:  # fail closed: no build on health or social care data without a current list
        optout = current_list(zones.optout, trusted_keys(), entries)
        for policy in covered:
            require_fresh(optout, policy, run_date)
    vault_key = None
    if any(p.agreement.reidentification for p in policies.values()):
        try:  # to re-key vault sidecars when a narrowed policy is cut from staged data
            vault_key = load_vault_key()
        except KeyMissingError:
            vault_key = None
    return BuildContext(bindings, policies, excluded, key, optout, vault_key, objected)


def rebind_all(zones: Zones, ctx: BuildContext, audit: AuditLog, run_id: str) -> None:
    """Bring staged files made under an older policy under the current one where no landing
    file is needed (flows.staging.rebind); the rest are refused by load_staged."""
    for ex in all_extracts():
        if ex.partner in ctx.bindings:
            binding = ctx.bindings[ex.partner]
            rebind(zones, ex, ctx.policies[ex.partner], binding, ctx.keys, audit, run_id)


def load_staged(
    zones: Zones, bindings: dict[str, Binding], key: SecretKey
) -> dict[tuple[str, str], pl.DataFrame]:
    """Every staged extract of the bound partners, one row per record_key (the newest staged
    copy wins), from files made under the partner's current policy and key only; HMAC tokens
    as their integer codes (transforms.link.as_codes)."""
    out = {}
    for ex in all_extracts():
        binding = bindings.get(ex.partner)
        if binding is None:
            continue
        require_current(zones, ex, binding, key)
        files = current_files(zones, ex, binding, key)
        if files:
            frames = [_read_verified(zones, f) for f in files]
            frame = pl.concat(frames, how="diagonal_relaxed")
            if frame["record_key"].is_duplicated().any():  # else unique would copy it all
                frame = frame.unique("record_key", keep="last", maintain_order=True)
            # tokens as codes here, an extract at a time (its columns in parallel): one
            # extract's tokens are ever held as text, and the codes gather faster later
            out[(ex.partner, ex.name)] = as_codes(frame)
    return out


def _read_verified(zones: Zones, f: StagedFile) -> pl.DataFrame:
    """A staged file's rows, parsed from the very bytes whose hash its sidecar vouches for
    (checked just before): a file swapped since is refused, not read."""
    data = f.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != f.meta.get("data_sha256"):
        raise StagingError(
            f"{f.path.relative_to(zones.root)} changed while the build was reading it; nothing "
            "was published. Fix: find out what writes to the staged folder during a run, then "
            "run again"
        )
    return pl.read_parquet(io.BytesIO(data))


def records_frame(
    staged: dict[tuple[str, str], pl.DataFrame], *, take_tokens: bool = False
) -> pl.DataFrame:
    """One row per staged record, in record-key order (linkage's order: transforms.link): the
    columns linkage and the cohort need, in one shape.

    HMAC tokens come as their integer codes (transforms.link.as_codes: a third of the memory of
    the text, 1.9 GB of it at a million people).
    take_tokens: move the token columns out of `staged` (each is dropped there once it is
    copied here) instead of leaving them in both. Put in order a column at a time, the night
    then holds one copy of its tokens, not two."""
    parts = []
    for ex in all_extracts():
        df = staged.get((ex.partner, ex.name))
        if df is None:
            continue
        df = as_codes(df.rename({ex.event_date: "event_date"}))  # load_staged's are already
        parts.append(
            df.select(
                *[
                    pl.col(c) if c in df.columns else pl.lit(None, pl.String).alias(c)
                    for c in RECORD_COLUMNS
                ],
                *[
                    pl.col(c) if c in df.columns else pl.lit(None, token_dtype(c)).alias(c)
                    for c in TOKEN_COLUMNS
                ],
            )
        )
    frame = pl.concat(parts)
    del parts
    order = frame["record_key"].arg_sort()
    columns = []
    for name in frame.columns:
        columns.append(frame[name].gather(order))
        frame = frame.drop(name)
        if take_tokens and name in TOKEN_COLUMNS:
            for k, df in staged.items():
                staged[k] = df.drop(name, strict=False)
    return pl.DataFrame(columns).set_sorted("record_key")


def stale_partners(
    zones: Zones,
    bindings: dict[str, Binding],
    failed: list[str],
    run_date: dt.date,
    key: SecretKey,
) -> dict[str, dict]:
    """For each partner that failed tonight: the night its newest good data was ingested for,
    and how many days before this run that is."""
    out = {}
    for name in sorted(set(failed) & set(bindings)):
        nights = [
            str(f.meta.get("run_date") or f.meta.get("staged_on", ""))
            for ex in partner(name).extracts
            for f in current_files(zones, ex, bindings[name], key)
        ]
        nights = [n for n in nights if n]
        if nights:
            last = dt.date.fromisoformat(max(nights))
            out[name] = {"last_good": last.isoformat(), "days": (run_date - last).days}
    return out


def require_fresh_enough(stale: dict[str, dict], max_days: int) -> None:
    too_old = {p: s for p, s in stale.items() if s["days"] > max_days}
    if too_old:
        names = ", ".join(f"{p} ({s['days']} days)" for p, s in too_old.items())
        raise StalePartnerError(
            f"the newest good data of {names} is older than the {max_days} days a night may "
            "use; nothing was published and the last published outputs stand. Fix: get the "
            "partner's extract through (see the failures above), or raise --max-stale-days"
        )


@hashing_staged_files_once
def build(
    zones: Zones,
    run_date: dt.date,
    run_id: str,
    lookback_days: int | None,
    threshold: int | None,
    audit: AuditLog | None = None,
    failed: list[str] | None = None,
    max_stale_days: int = DEFAULT_MAX_STALE_DAYS,
    frameworks: list[str] | None = None,
) -> dict:
    """Link, derive every framework's needs, publish the set (the first framework's cohort as
    `cohort`, each other as `cohort_<name>`) and add tonight to the cohort history.
    `lookback_days` and `threshold` override the frameworks' own when given."""
    fws = load_all(frameworks)
    ctx = build_context(zones, run_date)
    stale = stale_partners(zones, ctx.bindings, failed or [], run_date, ctx.key)
    require_fresh_enough(stale, max_stale_days)
    if audit is not None:
        rebind_all(zones, ctx, audit, run_id)
    staged = load_staged(zones, ctx.bindings, ctx.key)
    if not staged:
        raise FileNotFoundError(
            f"no staged data under {zones.staged}: run the ingest first (`mcn run`)"
        )
    records = records_frame(staged, take_tokens=True)  # staged: the event columns from here
    # Which records are listed depends on their tokens alone: found before linking, so that
    # the tokens (a gigabyte at a million people) go as soon as the linker is done with them.
    opted_out = optout_records(records, ctx)
    objected_to = objections.listed_records(records, ctx.objections)
    tokens, records = records.select("record_key", *TOKEN_COLUMNS), records.select(RECORD_COLUMNS)
    linkage = link_records(tokens, key=ctx.key, take_tokens=True)
    del tokens
    optout = exclude_persons(linkage.links, linkage.pairs, opted_out)
    objected = exclude_persons(optout.links, optout.pairs, objected_to)
    links = objected.links
    linkage.pairs = objected.pairs
    records = records.join(links.select("record_key"), on="record_key", how="semi")
    lazy = {k: v.lazy() for k, v in staged.items()}
    use = service_use_table(use_events(lazy), links.lazy())
    cohorts: dict[str, pl.DataFrame] = {}
    for fw in fws:
        events = need_events(lazy, run_date, fw.rules(lookback_days=lookback_days))
        cohorts[cohort_table_name(fw, fws)] = cohort_table(
            records.lazy(), links.lazy(), events, threshold or fw.threshold
        ).collect()
    cohort = cohorts["cohort"]
    removed = linkage.links.select("person_id", "record_key").join(
        links.select("person_id").unique(), on="person_id", how="anti"
    )
    framework_info = {
        fw.name: framework_summary(
            fw, cohorts[cohort_table_name(fw, fws)], lookback_days, threshold
        )
        | {"table": cohort_table_name(fw, fws)}
        for fw in fws
    }
    history_summary = history.record(
        zones.history,
        run_id,
        run_date,
        {fw: cohorts[cohort_table_name(fw, fws)] for fw in fws},
        links.select("record_key", "person_id"),
        removed,
        history_limit_days(ctx.policies),
    )
    link_out = records.select("record_key", "partner", "extract", "record_ref").join(
        links, on="record_key"
    )
    key_ids = staged_key_ids(zones, ctx.bindings)
    footer = {
        "mcn.run_id": run_id,
        "mcn.run_date": run_date.isoformat(),
        "mcn.needs_version": fws[0].version,
        "mcn.frameworks": json.dumps(  # in build order: the first is `cohort`
            [
                {"name": n, "version": f["version"], "table": f["table"]}
                for n, f in framework_info.items()
            ]
        ),
        "mcn.linkage_key_ids": ",".join(key_ids),
        "mcn.stale_partners": json.dumps(stale, sort_keys=True),
    }
    outputs = publish.write_set(
        zones,
        run_id,
        {
            **cohorts,
            "links": link_out,
            "link_pairs": linkage.pairs,
            "service_use": use.collect(),
        },
        footer,
    )
    summary = {
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "needs_version": fws[0].version,
        "framework": fws[0].name,
        "lookback_days": framework_info[fws[0].name]["lookback_days"],
        "mcn_threshold": framework_info[fws[0].name]["threshold"],
        "frameworks": framework_info,
        "history": history_summary,
        "records_linked": records.height,
        "persons": cohort.height,
        "mcn_persons": int(cohort["mcn_flag"].sum()),
        "persons_by_need_count": dict(
            cohort.group_by("need_count").len().sort("need_count").iter_rows()
        ),
        "key_ids": {"linkage": key_ids},
        "partners_excluded": ctx.excluded,
        "stale_partners": stale,
        "optout": optout_summary(ctx, optout),
        "objections": {
            "listed": len(ctx.objections),
            "persons_removed": objected.persons,
            "records_removed": objected.records,
        },
        "cohort_path": str(zones.cohort),
        "service_use_path": str(zones.service_use),
        "links_path": str(zones.links),
        "published_set": str(publish.set_folder(zones, run_id)),
        "linkage": linkage_summary(linkage),
        "linkage_quality_path": str(zones.runs / run_id / "linkage_quality.json"),
    }
    if linkage.model is not None:
        chart = write_model_chart(
            linkage.model.summary(), zones.runs / run_id / "linkage_model.svg"
        )
        summary["linkage_chart_path"] = str(chart)
    write_json_atomic(summary, zones.runs / run_id / "cohort.json")
    quality = linkage_quality(records, links, linkage.pairs)
    if linkage.model is not None:
        quality["model"] = linkage.model.summary()
        quality["model_chart"] = summary["linkage_chart_path"]
    write_json_atomic(quality, zones.runs / run_id / "linkage_quality.json")
    if audit is not None:
        audit.append(
            "cohort",
            run_id=run_id,
            flow="build_cohort",
            policies={p: b.policy_sha256 for p, b in ctx.bindings.items()},
            **_audit_details(zones, summary, ctx.bindings, outputs, ctx.key),
        )
    publish.switch_current(zones, run_id)
    if audit is not None:
        audit.append("published", run_id=run_id, flow="build_cohort", outputs=outputs)
        superseded = publish.prune(zones)
        if superseded:
            audit.append("published_superseded", run_id=run_id, deleted=superseded)
    return summary


def cohort_table_name(fw: Framework, fws: list[Framework]) -> str:
    """The first framework of a build is published as `cohort`, each other as
    `cohort_<name>`."""
    return "cohort" if fw is fws[0] else f"cohort_{slug(fw.name)}"


def framework_summary(
    fw: Framework, cohort: pl.DataFrame, lookback_days: int | None, threshold: int | None
) -> dict:
    """What a framework made tonight: counts only."""
    return {
        "version": fw.version,
        "title": fw.title,
        "needs": list(fw.domains),
        "threshold": threshold or fw.threshold,
        "lookback_days": lookback_days or fw.lookback_days,
        "mcn_persons": int(cohort["mcn_flag"].sum()),
        "persons_by_need_count": {
            str(k): v for k, v in cohort.group_by("need_count").len().sort("need_count").iter_rows()
        },
    }


def history_limit_days(policies: dict[str, Policy]) -> int | None:
    """The cohort history is kept no longer than the shortest staged retention of the
    agreements in use (as the published sets: flows/retention.py)."""
    limits = [p.agreement.retention.staged for p in policies.values()]
    return min(limits) if limits else None


def linkage_summary(linkage) -> dict:
    """How records were linked: counts per rule and the fitted model (no values)."""
    rules = linkage.pairs.group_by("rule").len().sort("rule")
    out = {"pairs_by_rule": dict(rules.iter_rows())}
    if linkage.model is not None:
        out["threshold"] = linkage.model.threshold
        out["model"] = linkage.model.summary()
    return out


def staged_key_ids(zones: Zones, bindings: dict[str, Binding]) -> list[str]:
    """The linkage key ids the staged data used was made under (one, by construction)."""
    return sorted({b.key_id for b in bindings.values()})


def optout_records(records: pl.DataFrame, ctx: BuildContext) -> pl.Series:
    """The record keys holding an NHS number on the current opt-out list: every person linked
    to one is dropped (exclude_persons)."""
    tokens = (
        optout_tokens(ctx.optout, ctx.key)
        if ctx.optout is not None
        else pl.Series([], dtype=pl.String)
    )
    return listed_records(records, NHS_TOKEN, tokens)


def optout_summary(ctx: BuildContext, optout: Excluded) -> dict | None:
    if ctx.optout is None:
        return None
    return {
        "as_of": ctx.optout.as_of.isoformat(),
        "sha256": ctx.optout.sha256,
        "persons_removed": optout.persons,
        "records_removed": optout.records,
    }


def _audit_details(
    zones: Zones,
    summary: dict,
    bindings: dict[str, Binding],
    outputs: dict[str, str],
    key: SecretKey,
) -> dict:
    """Inputs and outputs by content hash, and the key ids the staged data was made under."""
    inputs = {  # the hashes load_staged verified on the bytes it read
        str(f.path.relative_to(zones.root)): f.meta["data_sha256"]
        for ex in all_extracts()
        if ex.partner in bindings
        for f in current_files(zones, ex, bindings[ex.partner], key)
    }
    keep = (
        "run_date",
        "needs_version",
        "frameworks",
        "history",
        "lookback_days",
        "mcn_threshold",
        "records_linked",
        "persons",
        "mcn_persons",
        "persons_by_need_count",
        "partners_excluded",
        "stale_partners",
        "optout",
        "objections",
    )
    return {
        **{k: summary[k] for k in keep},
        "inputs": inputs,
        "outputs": outputs,
        "key_ids": summary["key_ids"],
    }


def evaluate_links(links_path: Path, truth_path: Path) -> dict:
    """Pairwise linkage quality of a published link table against a synthetic ground truth."""
    links = pl.read_parquet(links_path)
    truth = pl.read_parquet(truth_path).rename({"person": "truth"})
    assigned = links.join(truth, on=["partner", "extract", "record_ref"], how="inner")
    return pairwise_quality(assigned)
