"""Every stage of a night, timed one by one, with its peak memory; and two side-by-sides.

    uv run python benchmarks/stages.py --people 100000 1000000 [--out bench-stages] [--splink]

For each size: a synthetic drop (seed 7), then the night's stages run in this order, in one
process, partner extracts one after another (no Prefect, no concurrency, so each stage's time
and memory are its own): read, opt-out, raw checks (GX), quarantine (row rules), pseudonymise,
staged checks (GX), leak scan, vault (AES-SIV), stage (Parquet write), link, needs, cohort,
publish (Parquet write of the output set), report (the run's GX Data Docs). Peak memory is the
largest resident set sampled (every 20 ms) while the stage ran; `rss_after` what it held after.

Side by side, on the same values in the same run: our keyed hashing (polars-hash HMAC-SHA256 of
every value, columns in parallel) against a plain Python `hmac` loop over every value; and,
with --splink (`uv sync --group bench`), our linker against Splink on the same records (benchmarks/
linkage_vs_splink.py, F1 against the synthetic truth).

Writes <out>/stages.json and <out>/stages.md. Throwaway random keys; outside CI (minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import os
import platform
import resource
import secrets
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

RUN_DATE = dt.date(2026, 11, 1)
STAGES = (
    "read",
    "opt-out",
    "raw checks",
    "quarantine",
    "pseudonymise",
    "staged checks",
    "leak scan",
    "vault",
    "stage",
    "link",
    "needs",
    "cohort",
    "publish",
    "report",
)
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Meter:
    """Seconds and peak resident memory per stage, summed over the extracts a stage runs on."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    @contextmanager
    def stage(self, name: str):
        peak, stop = [rss()], threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], rss())

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            row = self.rows.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "peak_gb": 0.0})
            row["wall_s"] += time.perf_counter() - wall
            row["cpu_s"] += time.process_time() - cpu
            row["peak_gb"] = max(row["peak_gb"], max(peak[0], rss()) / 1024**3)
            row["rss_after_gb"] = rss() / 1024**3


def night(root: Path, meter: Meter) -> dict:
    """The stages of one night over the drop in root; counts only."""
    from flows import checks
    from flows.cohort_build import records_frame
    from flows.config import Zones
    from flows.gx_project import build_data_docs
    from flows.io import read_manifest, read_rows, write_parquet_atomic
    from flows.reader import SOURCE_ROW
    from governance.keys import SecretKey
    from governance.optout import load_optout, remove_opted_out
    from governance.policy import POLICY_DIR, load_policy
    from governance.pseudonymise import apply_policy, distinct_memo, vault_columns
    from governance.vault import create_vault_key, load_vault_key, seal
    from schemas.registry import partner_extracts
    from transforms.cohort import cohort_table
    from transforms.framework import load as load_framework
    from transforms.leaks import leak_counts
    from transforms.link import TOKEN_COLUMNS, link_records
    from transforms.needs import need_events
    from transforms.quality import split_rows

    zones = Zones(root)
    run_dir = zones.runs / "bench"
    key = SecretKey.from_hex(secrets.token_hex(32), "bench")
    create_vault_key(root / "vault.key")
    vault_key = load_vault_key({"MCN_VAULT_KEY_FILE": str(root / "vault.key")})
    optout = load_optout(zones.optout, approvers=None)  # a synthetic list, signature not checked
    staged, rows_in = {}, 0
    with distinct_memo():  # as the night's ingest: each distinct value made once a night
        for ex in partner_extracts():
            policy = load_policy(ex.partner, POLICY_DIR, verify=False)
            folder = zones.landing / ex.partner
            with meter.stage("read"):
                raw = read_rows(folder, ex, read_manifest(folder)).rows
            rows_in += raw.height
            with meter.stage("opt-out"):
                if ex.national_data_opt_out:
                    raw = remove_opted_out(raw, ex, optout).kept
            with meter.stage("raw checks"):
                checks.validate(raw.drop(SOURCE_ROW), ex, "raw", run_dir)
            with meter.stage("quarantine"):
                good, _ = split_rows(raw, ex, RUN_DATE)
                good = good.drop(SOURCE_ROW)
            with meter.stage("pseudonymise"):
                out = apply_policy(good, ex, policy, key, RUN_DATE)
            with meter.stage("staged checks"):
                failed = checks.failures(checks.validate(out, ex, "staged", run_dir))
            if failed:
                raise SystemExit(f"{ex.partner}/{ex.name}: staged checks failed")
            with meter.stage("leak scan"):
                leak_counts(out, good, ex)
            with meter.stage("vault"):
                identity = vault_columns(ex, policy)
                sealed = (
                    seal(good, identity, out["record_key"], vault_key, ex.name)
                    if identity
                    else None
                )
            with meter.stage("stage"):
                write_parquet_atomic(out, zones.staged / ex.partner / f"{ex.name}.parquet")
                if sealed is not None:
                    write_parquet_atomic(sealed, zones.vault / ex.partner / f"{ex.name}.parquet")
            staged[(ex.partner, ex.name)] = out
            del raw, good, out, sealed
    with meter.stage("link"):
        records = records_frame(staged)
        linkage = link_records(records.select("record_key", *TOKEN_COLUMNS), key=key)
    with meter.stage("needs"):
        fw = load_framework()  # the default needs framework, as a night without --framework
        events = need_events({k: v.lazy() for k, v in staged.items()}, RUN_DATE, fw.rules())
        events = events.collect()
    with meter.stage("cohort"):
        cohort = cohort_table(
            records.lazy(), linkage.links.lazy(), events.lazy(), fw.threshold
        ).collect()
    with meter.stage("publish"):
        for name, table in (
            ("cohort", cohort),
            ("links", linkage.links),
            ("link_pairs", linkage.pairs),
        ):
            write_parquet_atomic(table, zones.root / "published" / f"{name}.parquet")
    with meter.stage("report"):
        build_data_docs(run_dir)
    return {"rows_in": rows_in, "records_staged": records.height, "persons": cohort.height}


def hashing(root: Path, sample: int = 1_000_000) -> dict:
    """Keyed hashing of the night's own token plaintexts (every match key of every extract, as
    apply_policy makes them before hashing): our way (`hmac_tokens`: polars-hash on every value,
    columns in parallel), the way before issue 12 (each column's distinct values hashed once and
    joined back), and a plain Python `hmac` loop, timed on the first
    `sample` values and its rate applied to all (a loop over all of them at a million people
    would take tens of minutes). Medians of three; the loop's tokens are checked equal to ours."""

    import polars_hash as plh

    from flows.io import read_manifest, read_rows
    from flows.reader import SOURCE_ROW
    from governance.keys import SecretKey
    from governance.match_keys import applicable, plaintext, token_column
    from governance.policy import POLICY_DIR, load_policy
    from governance.pseudonymise import hmac_tokens, pseudonymised_roles, with_working_fields
    from schemas.registry import partner_extracts

    frames = []
    for ex in partner_extracts():
        folder = root / "landing" / ex.partner
        rows = read_rows(folder, ex, read_manifest(folder)).rows.drop(SOURCE_ROW)
        roles = pseudonymised_roles(ex, load_policy(ex.partner, POLICY_DIR, verify=False))
        keys = [k for k in applicable(roles) if not k.bloom_bits]
        working = with_working_fields(rows, ex, roles)
        frames.append(working.select(plaintext(k).alias(token_column(k)) for k in keys))
    key = SecretKey.from_hex(secrets.token_hex(32), "bench")
    material = key.material()
    values = sum(f.select(pl.all().count()).sum_horizontal().item() for f in frames)
    texts: list[str] = []
    for f in frames:
        for c in f.columns:
            if len(texts) < sample:
                texts += f[c].drop_nulls().head(sample - len(texts)).to_list()
    t_ours, t_distinct, t_loop = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        ours = [hmac_tokens(f, f.columns, key) for f in frames]
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        for f in frames:
            for c in f.columns:  # the way before issue 12: distinct values, joined back
                cells = f.get_column(c).to_frame()
                distinct = cells.unique().drop_nulls()
                hashed = distinct.with_columns(
                    plh.col(c).chash.hmac_sha256(key=material).str.head(32).alias("__t")
                )
                cells.join(hashed, on=c, how="left", maintain_order="left")
        t_distinct.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain = [hmac.new(material, t.encode(), sha256).hexdigest()[:32] for t in texts]
        t_loop.append(time.perf_counter() - start)
    col = frames[0].columns[0]
    n = min(1000, frames[0][col].drop_nulls().len())  # texts start with the first column's values
    theirs = [hmac.new(material, t.encode(), sha256).hexdigest()[:32] for t in texts[:n]]
    if theirs != plain[:n] or plain[:n] != ours[0][col].drop_nulls().head(n).to_list():
        raise SystemExit("keyed hashing and the plain hmac loop disagree")
    loop_s = sorted(t_loop)[1] * values / len(texts)
    return {
        "values": values,
        "token_columns": sum(f.width for f in frames),
        "ours_s": round(sorted(t_ours)[1], 2),
        "distinct_then_join_s": round(sorted(t_distinct)[1], 2),
        "python_hmac_s": round(loop_s, 1),
        "python_hmac_sample": len(texts),
        "speedup": round(loop_s / sorted(t_ours)[1], 1),
    }


def splink_side(people: int) -> dict:
    from benchmarks.linkage_vs_splink import compare

    row = compare(people)
    return {k: row[k] for k in ("ours", "splink") if k in row}


def one_size(people: int, with_splink: bool) -> dict:
    from flows.synth import synthesise

    with tempfile.TemporaryDirectory(prefix="mcn-stages-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        synthesise(people, 7, root, RUN_DATE)
        synth_s = time.perf_counter() - start
        meter = Meter()
        wall = time.perf_counter()
        counts = night(root, meter)
        total = time.perf_counter() - wall
        out = {
            "people": people,
            "synth_s": round(synth_s, 1),
            **counts,
            "stages_total_s": round(total, 1),
            "process_peak_gb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2
            ),
            "stages": {
                s: {k: round(v, 2) for k, v in meter.rows[s].items()}
                for s in STAGES
                if s in meter.rows
            },
            "hashing": hashing(root),
        }
    if with_splink:
        out["linkage_vs_splink"] = splink_side(people)
    return out


def markdown(results: list[dict]) -> str:
    sizes = [r["people"] for r in results]
    head = "| stage | " + " | ".join(f"{n:,} people: s (CPU s), peak GB" for n in sizes) + " |"
    lines = [head, "|---" * (len(sizes) + 1) + "|"]
    for s in STAGES:
        cells = []
        for r in results:
            row = r["stages"].get(s)
            cells.append(
                f"{row['wall_s']:.1f} ({row['cpu_s']:.1f}), {row['peak_gb']:.2f}" if row else "-"
            )
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append(
        "| **all stages** | "
        + " | ".join(f"**{r['stages_total_s']:.1f}**, {r['process_peak_gb']:.2f}" for r in results)
        + " |"
    )
    lines += [
        "",
        "| keyed hashing of the night's token plaintexts | "
        + " | ".join(f"{n:,}" for n in sizes)
        + " |",
        "|---" * (len(sizes) + 1) + "|",
    ]
    for label, field in (
        ("values (token columns)", None),
        ("ours: polars-hash on every value, columns in parallel (s)", "ours_s"),
        ("before issue 12: each distinct value once, joined back (s)", "distinct_then_join_s"),
        ("Python hmac loop (s, rate on a 1M-value sample)", "python_hmac_s"),
        ("speed-up, ours over the loop", "speedup"),
    ):
        cells = [
            f"{r['hashing']['values']:,} ({r['hashing']['token_columns']})"
            if field is None
            else str(r["hashing"][field])
            for r in results
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    with_splink = [r for r in results if "linkage_vs_splink" in r]
    if with_splink:
        lines += [
            "",
            "| linker, same records | people | P / R / F1 | seconds |",
            "|---|---|---|---|",
        ]
        for r in with_splink:
            for who, row in r["linkage_vs_splink"].items():
                q = f"{row['precision']:.4f} / {row['recall']:.4f} / {row['f1']:.4f}"
                lines.append(f"| {who} | {r['people']:,} | {q} | {row['seconds']} |")
    if len(results) >= 2:
        a, b = results[0], results[1]
        import math

        exp = math.log(b["stages_total_s"] / a["stages_total_s"]) / math.log(
            b["people"] / a["people"]
        )
        lines += [
            "",
            f"Scaling exponent {a['people']:,} -> {b['people']:,} (all stages): {exp:.2f}",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[100_000])
    ap.add_argument("--out", type=Path, default=Path("bench-stages"))
    ap.add_argument("--splink", action="store_true", help="our linker against Splink too")
    ap.add_argument("--hashing-only", action="store_true", help="synthesise, then hashing only")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.people:
        if args.hashing_only:
            from flows.synth import synthesise

            with tempfile.TemporaryDirectory(prefix="mcn-stages-") as tmp:
                synthesise(n, 7, Path(tmp), RUN_DATE)
                print(json.dumps({"people": n, "hashing": hashing(Path(tmp))}), flush=True)
            continue
        results.append(one_size(n, args.splink))
        doc = {
            "machine": f"{os.cpu_count()} cores, {platform.python_version()}, {platform.machine()}",
            "load_average": os.getloadavg(),
            "results": results,
        }
        (args.out / "stages.json").write_text(json.dumps(doc, indent=2) + "\n")
        (args.out / "stages.md").write_text(markdown(results))
        print(json.dumps(results[-1]), flush=True)
    if results:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
