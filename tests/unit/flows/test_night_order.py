"""The night submits the largest partner drop first (flows.nightly.largest_first)."""

from __future__ import annotations

import json

from flows.config import Zones
from flows.nightly import largest_first
from schemas.registry import partner_names


def test_largest_drop_first_missing_folder_last_ties_in_given_order(tmp_path):
    zones = Zones(tmp_path)
    names = list(partner_names())
    rows = {names[0]: [10], names[1]: [2000, 3000], names[2]: [300]}
    for name, counts in rows.items():  # names[3] sends a broken manifest, the rest nothing
        folder = zones.landing / name
        folder.mkdir(parents=True)
        files = {f"f{i}.csv": {"rows": n, "sha256": "0" * 64} for i, n in enumerate(counts)}
        (folder / "manifest.json").write_text(json.dumps({"files": files}))
        (folder / "f0.csv").write_bytes(b"x" * (10_000 if name == names[0] else 1))  # bytes: no
    (zones.landing / names[3]).mkdir(parents=True)
    (zones.landing / names[3] / "manifest.json").write_text("{not json")
    order = largest_first(zones, names)
    assert order[:3] == [names[1], names[2], names[0]]
    assert order[3:] == names[3:]
    assert sorted(order) == sorted(names)


def test_the_local_runner_ingests_one_partner_per_core_unless_told(monkeypatch):
    from flows import runs
    from flows.nightly import nightly, partner_runner

    assert nightly.task_runner._max_workers == runs.DEFAULT_PARALLEL_PARTNERS  # no public name
    assert partner_runner(3)._max_workers == 3


def test_parallel_with_the_dask_runner_is_one_clear_error(tmp_path, monkeypatch, capsys):
    from conftest import set_dev_keys

    from flows.cli import main
    from schemas.errors import ExitCode

    set_dev_keys(tmp_path, monkeypatch)
    (tmp_path / "landing").mkdir()
    code = main(["run", "--data-dir", str(tmp_path), "--runner", "dask", "--parallel", "2"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert err.count("\n") == 1 and "--parallel" in err and "Fix:" in err


def test_work_in_background_runs_in_the_callers_context_and_is_done_once_joined():
    """The night renders Data Docs while the cohort builds (flows.nightly.in_background): the
    thread must see the flow run's context (its logger), and be done once joined."""
    import contextvars
    import threading
    import time

    from flows.nightly import in_background

    var: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")
    var.set("the caller's")
    seen: dict = {}

    def work(arg: int) -> None:
        time.sleep(0.05)
        seen.update(value=var.get(), arg=arg, thread=threading.current_thread().name)

    thread = in_background(work, 7)
    thread.join()
    assert seen == {"value": "the caller's", "arg": 7, "thread": "work"}
