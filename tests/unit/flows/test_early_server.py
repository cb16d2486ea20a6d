"""`mcn run` starts Prefect's temporary server itself, at once (flows.runcli.EarlyServer)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flows.runcli import EarlyServer


def test_nothing_is_started_when_a_server_is_configured():
    # In a child process: Prefect keeps the settings it first reads for the whole process.
    code = (
        "from flows.runcli import EarlyServer; s = EarlyServer()\n"
        "with s.use(): print(s.api_url, s._process, s.booting())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert done.stdout.split() == ["None", "None", "False"]


CHECK_A_REAL_START = """
import httpx
from prefect.settings import PREFECT_API_URL
from flows.runcli import EarlyServer

server = EarlyServer()
with server.use():
    used = PREFECT_API_URL.value() == server.api_url  # what a flow's client reads
    health = httpx.get(f"{server.api_url}/health").status_code
process = server._process
server.stop()
print(server.api_url is not None, used, health, process.poll() is not None)
"""


@pytest.mark.slow
def test_the_server_comes_up_is_used_by_flows_and_is_stopped():
    # In a child process with no server in force (pytest's may be: the session's harness).
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_A_REAL_START],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert done.stdout.split() == ["True", "True", "200", "True"], done.stderr[-2000:]


def test_a_server_in_force_in_the_callers_context_is_seen(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        server = EarlyServer()
        with server.use():
            assert server.api_url is None and server._process is None
