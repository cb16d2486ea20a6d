"""The README's deployment, for real: `prefect server start` on 127.0.0.1 (own PREFECT_HOME, a
free port), `prefect work-pool create mcn`, `prefect deploy --all`, a process worker, the nightly
deployment on `mcn synth` data; then the documented failure notification. Stops what it starts.

Slow: about 3 minutes on 2 cores, 6 with other test suites running beside it; the timeouts are
generous for that.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import polars as pl
import pytest
import yaml

from flows.config import Zones
from tests.conftest import (
    RUN_DATE,
    set_dev_keys,
    sign_optout,  # noqa: I001
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER_START_SECONDS = 300
RUN_SECONDS = 900
NOTIFY_SECONDS = 180
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prefect:
    """A real Prefect server in its own PREFECT_HOME and the processes started against it."""

    def __init__(self, home: Path):
        self.home, self.port = home, _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        # Nothing of ours but the repository: keys and data directory are the worker's alone.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MCN_")}
        self.env = {
            **env,
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": self.url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "COLUMNS": "250",  # rich tables: whole names, not "supportive…"
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            # a night held back by the limit retries after 5 s, not the default 30 s
            "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "5",
            # The test asks for the schedule's runs itself (same code as the scheduler service),
            # so no 02:00 night can start in the middle of it.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "MCN_REPO_DIR": str(REPO),
        }
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []
        self.deploy_output = ""

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed by stop()
        self.logs.append(log)
        proc = subprocess.Popen(
            [str(BIN / "prefect"), *args],
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its children too
        )
        self.processes.append(proc)
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def wait_healthy(self, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            assert server.poll() is None, f"server exited:\n{self.log('server')}"
            try:
                if httpx.get(f"{self.url}/health", timeout=5, trust_env=False).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        pytest.fail(f"server not healthy after {SERVER_START_SECONDS}s:\n{self.log('server')}")

    def cli(self, *args: str, timeout: int = 300) -> str:
        """Run `prefect ARGS` like an operator; fail the test, with the output, unless exit 0."""
        done = subprocess.run(
            [str(BIN / "prefect"), *args],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"prefect {' '.join(args)}: exit {done.returncode}\n{output}"
        return output

    def api(self, method: str, path: str, body: dict | None = None):
        """One call to the server's API. A 503 (the server's database busy, on a loaded
        machine) is tried again after a pause, as Prefect's own client does."""
        for pause in (1, 2, 4, 8, 0):
            response = httpx.request(
                method, f"{self.url}{path}", json=body, timeout=60, trust_env=False
            )
            if response.status_code != 503 or not pause:
                break
            time.sleep(pause)
        response.raise_for_status()
        return response.json() if response.content else None

    def run_deployment(self, name: str, params: dict) -> str:
        out = self.cli("deployment", "run", name, "--params", json.dumps(params))
        return re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1)

    def wait_for(self, flow_run_id: str, states: set[str] | tuple[str, ...] = TERMINAL) -> dict:
        deadline = time.monotonic() + RUN_SECONDS
        while time.monotonic() < deadline:
            run = self.api("GET", f"/flow_runs/{flow_run_id}")
            if run["state_type"] in states:
                return run
            time.sleep(0.5 if "RUNNING" in states else 2)
        pytest.fail(f"flow run not finished after {RUN_SECONDS}s:\n{self.log('worker')}")

    def why(self, flow_run: dict) -> str:
        """What a flow run that did not complete says: its state's message and its own log
        lines (from the API; counts and names only, as every log of ours), then the worker's
        output. Shown when a test's night ended otherwise than it expected."""
        state = flow_run.get("state") or {}
        logs = self.api(
            "POST",
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}, "limit": 200},
        )
        lines = "\n".join(f"{e['level']} {e['message']}" for e in logs or [])
        return (
            f"{flow_run['state_type']}: {state.get('message')}\n--- flow run logs\n{lines}\n"
            f"--- worker\n{self.log('worker')}"
        )

    def stop(self) -> None:
        """SIGTERM each process group (worker first), SIGKILL what is left after 30 s."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Demo data as `mcn synth` writes it (the demo's date, so the shipped agreements apply)."""
    out = tmp_path_factory.mktemp("deploy") / "data"
    subprocess.run(
        [str(BIN / "mcn"), "synth", "--people", "3000", "--seed", "11", "--out", str(out)]
        + ["--as-of", RUN_DATE.isoformat()],
        check=True,
        capture_output=True,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
    )
    sign_optout(out)  # an IG officer vouches for the list, as the README says
    return out


class _Hook(BaseHTTPRequestHandler):
    """A stand-in for Slack or Teams: keeps every JSON body posted to it."""

    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def _load_automation(prefect: Prefect, url: str) -> None:
    """docs/operations.md's steps: a notification block, its id into the shipped automation."""
    make_block = (
        "import sys; from prefect.blocks.notifications import CustomWebhookNotificationBlock as B;"
        "print(B(name='mcn', url=sys.argv[1], json_data={'text': '{{subject}}\\n{{body}}'})"
        ".save('mcn-alerts'))"
    )
    block_id = subprocess.run(
        [sys.executable, "-c", make_block, url],
        env=prefect.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.strip()
    text = (REPO / "docs" / "automations" / "nightly-failed.yaml").read_text()
    automation = prefect.home / "nightly-failed.yaml"
    automation.write_text(text.replace("BLOCK_DOCUMENT_ID", block_id))
    assert yaml.safe_load(automation.read_text())["actions"][0]["block_document_id"] == block_id
    prefect.cli("automation", "create", "--from-file", str(automation))


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory, data_dir) -> dict[str, str]:
    """The README's step 2: key files and the data directory, given to the worker only."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("keys")
        keys = set_dev_keys(folder, mp)
    trusted = {  # the IG approvers who signed the policies and the opt-out list
        k: os.environ[k] for k in ("MCN_APPROVERS_DIR", "MCN_STATE_DIR") if k in os.environ
    }
    return {
        **{env: str(path) for env, path in keys.items()},
        "MCN_AUDIT_PUBLIC_KEY_FILE": str(folder / "audit.pub"),
        **trusted,
        "MCN_DATA_DIR": str(data_dir),
    }


@pytest.fixture(scope="module")
def prefect(tmp_path_factory, worker_env, webhook):
    """Server, work pool, `prefect deploy --all`, the failure automation, a process worker."""
    prefect = Prefect(tmp_path_factory.mktemp("prefect-home"))
    try:
        port = str(prefect.port)
        server = prefect.start("server", "server", "start", "--host", "127.0.0.1", "--port", port)
        prefect.wait_healthy(server)
        prefect.cli("work-pool", "create", "mcn", "--type", "process")
        prefect.deploy_output = prefect.cli("deploy", "--all")
        _load_automation(prefect, webhook[0])
        prefect.start("worker", "worker", "start", "--pool", "mcn", env=worker_env)
        yield prefect
    finally:
        prefect.stop()


@pytest.fixture(scope="module")
def nights(prefect) -> tuple[dict, dict]:
    """Two runs of the nightly deployment submitted back to back: a good night, then one for a
    date outside every agreement (each partner is refused before anything is read)."""
    good = prefect.run_deployment("nightly/nightly", {"run_date": RUN_DATE.isoformat()})
    prefect.wait_for(good, ("RUNNING", *TERMINAL))  # the second is asked for while it runs
    bad = prefect.run_deployment("nightly/nightly", {"run_date": "2020-01-01"})
    return prefect.wait_for(good), prefect.wait_for(bad)


def test_deploy_all_registers_both_deployments_with_the_schedule_and_a_limit_of_one(prefect):
    assert "nightly/nightly" in prefect.deploy_output
    assert "build_cohort/build-cohort" in prefect.deploy_output
    nightly = prefect.api("GET", "/deployments/name/nightly/nightly")
    assert nightly["global_concurrency_limit"]["limit"] == 1  # Prefect keeps it as a GCL
    assert nightly["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "0 2 * * *"
    assert schedule["schedule"]["timezone"] == "Europe/London" and schedule["active"]
    assert nightly["work_pool_name"] == "mcn" and nightly["parameters"] == {}
    cohort = prefect.api("GET", "/deployments/name/build_cohort/build-cohort")
    assert cohort["work_pool_name"] == "mcn"
    dask = prefect.api("GET", "/deployments/name/nightly/nightly-dask")  # the Dask variant
    assert dask["entrypoint"] == "flows/dask_runner.py:nightly_dask" and not dask["schedules"]
    assert dask["work_pool_name"] == "mcn" and dask["global_concurrency_limit"]["limit"] == 1


def test_the_schedule_makes_nights_at_two_in_the_morning_london_time(prefect):
    """The server's scheduler code on the deployment's cron (Prefect 3.9.1 with whenever 0.10.5
    failed here on Python < 3.13, so no night was ever scheduled)."""
    nightly = prefect.api("GET", "/deployments/name/nightly/nightly")
    start = dt.datetime.now(dt.UTC)
    window = {
        "start_time": start.isoformat(),
        "end_time": (start + dt.timedelta(days=3)).isoformat(),
    }
    prefect.api(
        "POST",
        f"/deployments/{nightly['id']}/schedule",
        {**window, "min_time": 0, "min_runs": 2, "max_runs": 3},
    )
    runs = prefect.api(
        "POST",
        "/flow_runs/filter",
        {
            "deployments": {"id": {"any_": [nightly["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
        },
    )
    for run in runs:
        prefect.api("DELETE", f"/flow_runs/{run['id']}")  # no 02:00 night during the test
    london = ZoneInfo("Europe/London")
    starts = [dt.datetime.fromisoformat(r["expected_start_time"]).astimezone(london) for r in runs]
    assert len(starts) >= 2 and {(s.hour, s.minute) for s in starts} == {(2, 0)}
    assert len({s.date() for s in starts}) == len(starts), "one night a day"


def test_nightly_deployment_completes_on_a_worker_and_publishes_the_cohort(
    prefect, nights, data_dir, worker_env
):
    good, _ = nights
    assert good["state_type"] == "COMPLETED", prefect.why(good)
    assert good["parameters"] == {"run_date": RUN_DATE.isoformat()}  # no key, no path
    zones = Zones.from_env(data_dir)
    cohort = pl.read_parquet(zones.cohort)
    assert cohort.height > 0 and cohort["person_id"].is_unique().all()
    assert 0 < cohort["mcn_flag"].sum() < cohort.height
    verify = subprocess.run(
        [str(BIN / "mcn"), "audit", "verify", "--data-dir", str(zones.root)],
        env={**prefect.env, **worker_env},
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _started(run: dict) -> float:
    return dt.datetime.fromisoformat(run["start_time"]).timestamp()


def test_second_night_waits_for_the_first_and_fails_leaving_the_cohort(prefect, nights, data_dir):
    good, bad = nights
    assert bad["state_type"] == "FAILED"
    assert _started(bad) >= dt.datetime.fromisoformat(good["end_time"]).timestamp()
    states = prefect.api("GET", f"/flow_run_states/?flow_run_id={bad['id']}")
    assert "AwaitingConcurrencySlot" in {s["name"] for s in states}, "the limit held it back"
    cohort = Zones.from_env(data_dir).cohort
    assert cohort.stat().st_mtime < _started(bad), "a failed night leaves the cohort in place"


def test_every_prefect_ls_command_works_against_the_server(prefect, nights):
    assert "nightly/nightly" in prefect.cli("deployment", "ls")
    assert nights[0]["name"] in prefect.cli("flow-run", "ls")
    assert "mcn" in prefect.cli("work-pool", "ls")
    prefect.cli("artifact", "ls")


def _raw_values(landing: Path) -> tuple[set[str], set[str]]:
    """Raw identifiers in the landing files (record reference, NHS number, NINO, postcode) and raw
    names (forename, surname; capitalised ones, so that a name like "green" is not a log colour).
    """
    ids, names = {"record_ref", "nhs_number", "nino", "postcode"}, {"forename", "surname"}
    found: tuple[set[str], set[str]] = (set(), set())
    for path in landing.rglob("*"):
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
        elif path.suffix == ".csv":
            sep = "|" if path.read_bytes()[:200].count(b"|") > 2 else ","
            df = pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy")
        else:
            continue
        df = df.rename(lambda c: c.lstrip("\ufeff"))
        for kind, columns in zip(found, (ids, names), strict=True):
            for col in columns & set(df.columns):
                kind |= {v for v in df[col].drop_nulls().to_list() if len(v) > 4}
    return found[0], {n for n in found[1] if not n.islower()}


def _leaks(landing: Path, text: str) -> list[str]:
    """Raw values in text: identifiers anywhere, names as whole words."""
    ids, names = _raw_values(landing)
    assert len(ids) > 1000 and len(names) > 100
    words = set(re.findall(r"[\w'-]+", text))
    return sorted({v for v in ids if v in text} | (names & words))


def test_no_raw_identifier_or_key_in_prefect_logs_or_the_worker_and_server_output(
    prefect, nights, data_dir, worker_env
):
    logs, offset = [], 0
    while page := prefect.api("POST", "/logs/filter", {"offset": offset, "limit": 200}):
        logs += [entry["message"] for entry in page]
        offset += len(page)
    assert any("cohort:" in message for message in logs), "the flow's own log lines reached the API"
    text = "\n".join(logs + [prefect.log(n, tail=10**9) for n in ("server", "worker")])
    leaks = _leaks(Zones.from_env(data_dir).landing, text)
    assert not leaks, f"{len(leaks)} raw values in logs"
    key_lines = [
        line
        for env, path in worker_env.items()
        if env.endswith("_KEY_FILE")
        for line in Path(path).read_text().splitlines()
        if len(line) >= 16 and not line.startswith("-----")  # PEM armour is not secret
    ]
    assert len(key_lines) >= 3 and not any(line in text for line in key_lines)


def test_documented_automation_notifies_once_for_the_failed_night(
    prefect, nights, webhook, data_dir
):
    _, bad = nights
    _, received = webhook
    deadline = time.monotonic() + NOTIFY_SECONDS
    while not received and time.monotonic() < deadline:
        time.sleep(1)
    assert received, f"no notification within {NOTIFY_SECONDS}s:\n{prefect.log('server')}"
    time.sleep(5)  # a second message (e.g. for the good night) would have come by now
    [message] = received
    assert bad["name"] in message["text"] and "Failed" in message["text"]
    assert "nightly" in message["text"] and "AgreementNotInForce" in message["text"]
    assert not _leaks(Zones.from_env(data_dir).landing, message["text"])
