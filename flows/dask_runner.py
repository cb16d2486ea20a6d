"""The nightly flow on a Dask cluster, through Prefect's `prefect-dask` task runner.

Each partner's ingest and the cohort build (linkage, needs, cohort, publish) run as Prefect
tasks on the cluster's workers; the flow itself stays in the process that started it. Workers
need the same environment as a process worker: keys (MCN_*_KEY_FILE), MCN_APPROVERS_DIR, the
storage credentials, and the data directory mounted at the same path (docs/operations.md).

`mcn run --runner dask [--dask-address tcp://host:8786]`; without an address a LocalCluster is
started for the run (one worker process per core) and closed after it. The `nightly-dask`
deployment (prefect.yaml) runs `nightly_dask`, which connects to $MCN_DASK_ADDRESS.
"""

from __future__ import annotations

import os

from prefect_dask import DaskTaskRunner

from flows.errors import ClusterError
from flows.nightly import nightly

ENV_DASK_ADDRESS = "MCN_DASK_ADDRESS"
CONNECT_SECONDS = 10  # a scheduler answers in milliseconds; refused connections are retried


def dask_runner(address: str | None = None) -> DaskTaskRunner:
    """Connect to the scheduler at address, or start a LocalCluster for the run."""
    return DaskTaskRunner(address=address) if address else DaskTaskRunner()


def require_scheduler(address: str) -> None:
    """Fail in seconds, before Prefect starts, when the scheduler does not answer."""
    from distributed import Client

    try:
        with Client(address, timeout=CONNECT_SECONDS):
            return
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"no Dask scheduler answered at {address} within {CONNECT_SECONDS} s "
            f"({type(exc).__name__}). Fix: start one (`dask scheduler`, and `dask worker "
            f"{address}` on each machine), or correct --dask-address / ${ENV_DASK_ADDRESS}"
        ) from None


def nightly_on_dask(address: str | None = None):
    """The nightly flow with its tasks on the cluster at address (or a LocalCluster)."""
    return nightly.with_options(task_runner=dask_runner(address))


# The deployment's entrypoint: the address is read where the flow run starts (the worker's env).
nightly_dask = nightly_on_dask(os.environ.get(ENV_DASK_ADDRESS) or None)
