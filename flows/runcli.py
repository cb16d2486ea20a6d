"""How `mcn run` behaves in a terminal: Prefect's console logging goes to a log file (so no
traceback reaches the terminal), progress lines when stderr is a terminal, and Ctrl-C or SIGTERM
stop the run within seconds, audited, leaving the last published outputs in place (publishing is
atomic, so stopping at any point is safe)."""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class EarlyServer:
    """Prefect's temporary API server, started by us at once instead of by the first flow.

    A flow run with no server configured (PREFECT_API_URL) starts one itself: it imports the
    server (3 s) and then boots it (4-5 s) before anything runs. Here the same server, with
    the same command and settings as Prefect's SubprocessASGIServer, is launched at the start
    of `mcn run` and boots in its own process while ours imports the night's modules; this
    process never imports the server. `use()` points the flow at it; it is stopped at exit (and
    by stop_on_signals, as a child). Nothing is started when a server is in force (configured,
    or a test harness's in the caller's context); if it does not come up, the flow starts
    Prefect's own as before, and says what is wrong.

    Prefect's settings are read here, in the caller's thread: a second thread importing the
    prefect package while this one does can fail half-way ("partially initialized module").
    The thread only waits for the server to answer."""

    def __init__(self) -> None:
        self.api_url: str | None = None
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        try:
            import httpx  # noqa: F401 - imported here, not in the thread
            from prefect.settings import (
                PREFECT_API_URL,
                PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
                get_current_settings,
            )

            if PREFECT_API_URL.value():
                return
            with socket.socket() as probe:  # a free port on the loopback
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            spec = importlib.util.find_spec("prefect")
            prefect_dir = Path(spec.origin if spec and spec.origin else "").parent
            self._process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_dir.parent)),
                    *("--factory", "prefect.server.api.server:create_app"),
                    *("--host", "127.0.0.1", "--port", str(port)),
                    *("--log-level", "error", "--lifespan", "on"),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            atexit.register(self.stop)
            timeout = float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        except Exception:  # noqa: BLE001 - the flow starts Prefect's own, and says what fails
            self.stop()
            logging.getLogger("mcn").warning("Prefect's server did not start early", exc_info=True)
            return
        url = f"http://127.0.0.1:{port}/api"
        self._thread = threading.Thread(
            target=self._wait, args=(url, timeout), name="prefect-server", daemon=True
        )
        self._thread.start()

    def _wait(self, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        try:
            with httpx.Client() as client:
                while time.monotonic() < deadline and self._process is not None:
                    if self._process.poll() is not None:
                        break
                    try:
                        if client.get(f"{url}/health").status_code == 200:
                            self.api_url = url
                            return
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.1)
            why = "it did not answer in time, or stopped"
        except Exception as exc:  # noqa: BLE001 - as above
            why = type(exc).__name__
        self.stop()
        logging.getLogger("mcn").warning("Prefect's server did not start early (%s)", why)

    def booting(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @contextmanager
    def use(self) -> Iterator[None]:
        """Flows inside talk to this server (once it is up); without one, as configured."""
        if self._thread is not None:
            self._thread.join()
        if self.api_url is None:
            yield
            return
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            yield

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
