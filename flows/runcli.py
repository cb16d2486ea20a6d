"""How `mcn run` behaves in a terminal: Prefect's console logging goes to a log file (so no
traceback reaches the terminal), progress lines when stderr is a terminal, and Ctrl-C or SIGTERM
stop the run within seconds, audited, leaving the last published outputs in place (publishing is
atomic, so stopping at any point is safe)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from flows.config import Zones
from flows.io import open_append
from schemas.errors import ExitCode

PREFECT_CONSOLES = (
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL",
)


def quiet_prefect_console() -> None:
    """Before Prefect is imported: its console handlers print nothing (the CLI reports)."""
    for name in PREFECT_CONSOLES:
        os.environ.setdefault(name, "CRITICAL")


def start_prefect_server_early() -> threading.Thread:
    """Start Prefect's temporary API server, the one a flow run starts when no server is
    configured (PREFECT_API_URL), in a background thread now: its process boots (about 5 s)
    while the night's modules import and its checks run, instead of after them. Join the
    thread before the first flow. Nothing is started when a server is configured; if this
    fails, the flow starts the server itself as before, and reports what stops it."""

    def start() -> None:
        try:
            from prefect.settings import PREFECT_API_URL

            if PREFECT_API_URL.value():
                return
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()  # the instance the flow's client asks for
        except Exception:  # noqa: BLE001 - the flow starts it again, and says what fails
            logging.getLogger("mcn").warning("Prefect's server did not start early", exc_info=True)

    thread = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    thread.start()
    return thread


def log_to_file(zones: Zones) -> Path:
    """Prefect's and our logs, tracebacks included, to <data>/logs/mcn.log (0640)."""
    path = zones.root / "logs" / "mcn.log"
    handler = logging.StreamHandler(open_append(path))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.INFO)
    for name in ("prefect", "mcn"):
        logging.getLogger(name).addHandler(handler)
    return path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out + [g for c in out for g in _children(c)]


def stop_on_signals(zones: Zones, say) -> None:
    """Ctrl-C (SIGINT) and SIGTERM: audit the interruption (the next run seals it), stop child
    processes (Prefect's temporary server), exit 130 within seconds."""

    def handler(signum, frame) -> None:  # noqa: ARG001
        name = signal.Signals(signum).name
        say(f"\n{name}: stopping now; the last published outputs stand")
        done = threading.Event()

        def audit() -> None:
            try:
                from governance.audit import service_log

                service_log(zones.audit).append("run_interrupted", signal=name)
            except Exception:  # noqa: BLE001 - stopping matters more than this entry
                pass
            finally:
                done.set()

        threading.Thread(target=audit, daemon=True).start()
        done.wait(3)
        for child in _children(os.getpid()):
            try:
                os.kill(child, signal.SIGTERM)
            except OSError:
                continue
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
