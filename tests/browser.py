"""Headless Chromium for the tests that open the HTML reports (Debian's `chromium`; `make test`
installs it and sets MCN_REQUIRE_BROWSER=1, so a missing browser fails those tests rather than
skipping them)."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium(*args: str, timeout: int = 120):
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("MCN_REQUIRE_BROWSER"):
            pytest.fail(reason + "; `make test` installs it (make browser)")
        pytest.skip(reason)
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    flags += ["--enable-logging=stderr", "--log-level=0", "--user-data-dir=" + args[0]]
    return subprocess.run(
        [browser, *flags, *args[1:]], capture_output=True, text=True, timeout=timeout
    )


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]
