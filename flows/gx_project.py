"""The file-backed great-expectations project: generated from the contracts, run per extract.

    uv run python -m flows.gx_project    (writes gx/; a test checks the committed files are current)

gx/ in the repository is a GX project as its users know it (`gx.get_context(project_root_dir=.)`):

    great_expectations.yml                      stores, the Data Docs site, the data source (DuckDB
                                                in the running process: flows/gx_engine.py)
    expectations/<partner>/<extract>/raw.json   raw suite, from the contract
    expectations/<partner>/<extract>/staged.json   pseudonymised suite, from the contract and the
                                                shipped agreement (which columns are staged)
    validation_definitions/<partner>.<extract>.<stage>.json
    checkpoints/<partner>.<extract>.<stage>.json   result format without values

It holds definitions only. What a run makes goes to that run's folder in the data directory,
`runs/<run_id>/gx/validations/` (results) and `runs/<run_id>/gx/data_docs/` (the site), through
the `${MCN_GX_RESULTS_DIR}` and `${MCN_GX_DOCS_DIR}` variables in great_expectations.yml. Every
identifier is a name-based UUID, so regenerating gives the same bytes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import polars as pl

REPO_GX = Path(__file__).resolve().parent.parent / "gx"
STAGES = ("raw", "staged")
DATASOURCE = "mcn_frames"
BATCH = "whole_frame"
SITE = "mcn_run_site"
RESULTS_VAR, DOCS_VAR = "MCN_GX_RESULTS_DIR", "MCN_GX_DOCS_DIR"
GX_VERSION = "1.24.1"
# Name-based UUIDs: the same name always gives the same id, so the project is reproducible.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "mcn-pipeline/gx")
# No value from a row may be copied into a result or a Data Docs page. BASIC gives the counts
# and stops: no unexpected index list or query (SUMMARY's), computed at about half the cost.
SAFE_RESULT = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unique_unexpected": False,
}


# A staged suite passes on every good night, and a passing result has nothing to count. So it is
# run first for pass or fail only: GX then skips BASIC's query for unexpected values, one per
# expectation (made even at partial_unexpected_count 0), about half the suite's cost at up to
# 100k people (docs/benchmarks.md). Each expectation still runs on every row, since its success
# is its unexpected count; a suite that fails is run again with SAFE_RESULT, for its counts.
PASS_OR_FAIL = {"result_format": "BOOLEAN_ONLY"}


def gx_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def suite_name(partner: str, extract: str, stage: str) -> str:
    return f"{partner}.{extract}.{stage}"


def _json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def suite_doc(name: str, expectations: Iterable) -> dict:
    """An expectation suite as GX stores it, with ids derived from the name and position."""
    rows = []
    for i, exp in enumerate(expectations):
        cfg = exp.configuration.to_json_dict()
        row = {k: cfg[k] for k in ("kwargs", "meta", "type")}
        row["kwargs"] = {k: v for k, v in row["kwargs"].items() if v is not None}
        row["meta"] = row["meta"] or {}
        row["severity"] = "critical"
        row["id"] = gx_id("expectation", f"{name}#{i}")
        rows.append(row)
    return {
        "expectations": rows,
        "id": gx_id("suite", name),
        "meta": {"great_expectations_version": GX_VERSION},
        "name": name,
        "notes": None,
    }


def validation_definition_doc(name: str) -> dict:
    return {
        "data": {
            "asset": {"id": gx_id("asset", name), "name": name},
            "batch_definition": {"id": gx_id("batch", name), "name": BATCH},
            "datasource": {"id": gx_id("datasource", DATASOURCE), "name": DATASOURCE},
        },
        "id": gx_id("validation", name),
        "name": name,
        "suite": {"id": gx_id("suite", name), "name": name},
    }


def checkpoint_doc(name: str) -> dict:
    return {
        # No action: Data Docs are built once per run, not after each checkpoint (build_data_docs).
        "actions": [],
        "id": gx_id("checkpoint", name),
        "name": name,
        "result_format": SAFE_RESULT,
        "validation_definitions": [{"id": gx_id("validation", name), "name": name}],
    }


def config_yml(names: Iterable[str]) -> str:
    """great_expectations.yml: committed stores here, run output where the variables point."""
    from flows.gx_engine import CONNECTION_STRING, table_name  # DuckDB: imported when used

    assets = "".join(
        f"      {n}:\n"
        f"        type: table\n"
        f"        id: {gx_id('asset', n)}\n"
        f"        batch_metadata: {{}}\n"
        f"        batch_definitions:\n"
        f"          {BATCH}:\n"
        f"            id: {gx_id('batch', n)}\n"
        f"            partitioner:\n"
        f"        table_name: {table_name(n)}\n"
        for n in sorted(names)
    )
    return CONFIG_TEMPLATE.format(
        connection=CONNECTION_STRING,
        site=SITE,
        results=RESULTS_VAR,
        docs=DOCS_VAR,
        datasource=DATASOURCE,
        datasource_id=gx_id("datasource", DATASOURCE),
        context_id=gx_id("context", "mcn-pipeline"),
        assets=assets,
    )


CONFIG_TEMPLATE = """\
# great-expectations project of mcn-pipeline: generated by `uv run python -m flows.gx_project`
# from schemas/ and governance/policies/; do not edit by hand (a test checks it is current).
# Definitions live here; a run's results and Data Docs go to its own folder in the data
# directory (runs/<run_id>/gx/), set through ${results} and ${docs} (flows/gx_project.py).
config_version: 4
plugins_directory:
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: expectations/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: validation_definitions/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: ${{{results}}}
expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store
data_docs_sites:
  {site}:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: ${{{docs}}}
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
progress_bars:
  globally: false
analytics_enabled: false
data_context_id: {context_id}
fluent_datasources:
  {datasource}:
    type: sql
    id: {datasource_id}
    # DuckDB in the running process (flows/gx_engine.py): each checkpoint's frame is shown as
    # the table its asset names while the checkpoint runs.
    connection_string: '{connection}'
    assets:
{assets}"""


def all_names() -> list[str]:
    """Every suite, validation definition and checkpoint name: one per extract and stage."""
    from schemas.registry import all_partners

    extracts = [ex for p in all_partners() for ex in p.extracts]
    return [suite_name(ex.partner, ex.name, s) for ex in extracts for s in STAGES]


def suite_files(name: str, expectations: Iterable) -> dict[str, str]:
    """The files one suite brings to the project: suite, validation definition, checkpoint."""
    return {
        f"expectations/{name.replace('.', '/')}.json": _json(suite_doc(name, expectations)),
        f"validation_definitions/{name}.json": _json(validation_definition_doc(name)),
        f"checkpoints/{name}.json": _json(checkpoint_doc(name)),
    }


def project_files(suites: dict[str, list]) -> dict[str, str]:
    """Every file of the project for these suites (name -> expectations), path -> text."""
    files = {"great_expectations.yml": config_yml(all_names()), ".gitignore": "uncommitted/\n"}
    for name, expectations in suites.items():
        files.update(suite_files(name, expectations))
    return files


def write_project(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def stale_files(root: Path, files: dict[str, str]) -> list[str]:
    """Files of `files` that `root` lacks or holds with other content (empty when current)."""
    return sorted(
        rel
        for rel, text in files.items()
        if not (root / rel).is_file() or (root / rel).read_text() != text
    )


# A GX context is not safe to share between threads; partners are ingested concurrently.
_lock = threading.Lock()


def gx_dir(run_dir: Path) -> Path:
    """Where a run's GX output goes: validations/, data_docs/ and, if need be, project/."""
    return run_dir / "gx"


def data_docs_index(run_dir: Path) -> Path:
    return gx_dir(run_dir) / "data_docs" / "index.html"


def latest_data_docs(runs: Path) -> Path | None:
    """The Data Docs index of the newest run that checked anything (run ids sort by time)."""
    found = sorted(runs.glob("*/gx/data_docs/index.html"))
    return found[-1] if found else None


def project_root(name: str, expectations: list, run_dir: Path) -> Path:
    """The committed project when it holds exactly this suite, else one generated in the run's
    folder (an agreement in force other than the shipped one stages other columns)."""
    files = {"great_expectations.yml": config_yml(all_names()), **suite_files(name, expectations)}
    if not stale_files(REPO_GX, files):
        return REPO_GX
    root = (gx_dir(run_dir) / "project").resolve()  # absolute, like the output folders
    write_project(root, files)
    return root


@lru_cache(maxsize=4)
def _context(root: str, run_dir: str):
    import great_expectations as gx

    out = gx_dir(Path(run_dir))
    variables = {RESULTS_VAR: str(out / "validations"), DOCS_VAR: str(out / "data_docs")}
    return gx.get_context(mode="file", context_root_dir=root, runtime_environment=variables)


def _one_column_per_name(name: str, frame: pl.DataFrame) -> None:
    """GX finds an expectation's column ignoring case (on either engine): of `note` and `NOTE`,
    both expectations would check `note` and none `NOTE`, whatever it holds. Refuse such a
    frame (column names only: they come from the contracts)."""
    seen: dict[str, str] = {}
    for column in frame.columns:
        other = seen.setdefault(column.casefold(), column)
        if other != column:
            raise ValueError(
                f"{name}: columns {other!r} and {column!r} differ only in case, so "
                "great-expectations would check one of them twice and the other never; "
                "rename one in the contract"
            )


def run_checkpoint(
    name: str,
    expectations: list,
    frame: pl.DataFrame,
    run_dir: Path,
    *,
    counts_on_failure: bool = False,
):
    """Run the checkpoint `name` on a polars frame, shown to GX as its asset's table in DuckDB
    (flows/gx_engine.py): the result is stored in the run's folder. Returns the suite's
    validation result. Data Docs come after, once (build_data_docs).

    The checkpoint's validation definition is run as Checkpoint.run runs it (the checkpoint's
    id in the result; it has no actions), without the checkpoint's own bookkeeping. With
    counts_on_failure it is run for pass or fail first (PASS_OR_FAIL), and only a failing
    suite again with the checkpoint's result format; that result replaces the first (one run
    id, so one stored result)."""
    from great_expectations.core.run_identifier import RunIdentifier

    from flows.gx_engine import frame_as_table

    _one_column_per_name(name, frame)
    with _lock:
        root = project_root(name, expectations, run_dir)
        ctx = _context(str(root), str(run_dir.resolve()))
        checkpoint = ctx.checkpoints.get(name)
        (definition,) = checkpoint.validation_definitions
        run_id = RunIdentifier(run_name=run_dir.name)
        formats = [PASS_OR_FAIL] if counts_on_failure else []
        formats.append(checkpoint.result_format)
        with frame_as_table(name, frame):
            for result_format in formats:
                result = definition.run(
                    checkpoint_id=checkpoint.id, result_format=result_format, run_id=run_id
                )
                if result.success:
                    break
    return result


def build_data_docs(run_dir: Path) -> Path | None:
    """Render the run's Data Docs from every result it stored, once per run: building them
    after each checkpoint cost about as much as the validations themselves."""
    if not (gx_dir(run_dir) / "validations").is_dir():
        return None  # nothing was checked this run (every extract already staged)
    with _lock:
        ctx = _context(str(REPO_GX), str(run_dir.resolve()))
        ctx.build_data_docs(site_names=[SITE])
    return data_docs_index(run_dir)


def main() -> int:
    from flows.checks import shipped_suites

    files = project_files(shipped_suites())
    write_project(REPO_GX, files)
    extra = sorted(
        str(p.relative_to(REPO_GX))
        for p in REPO_GX.rglob("*")
        if p.is_file() and str(p.relative_to(REPO_GX)) not in files
    )
    for rel in extra:
        (REPO_GX / rel).unlink()
    print(f"wrote {len(files)} files to {REPO_GX}; removed {len(extra)} stale")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
