"""Writing secret key files: created with mode 0600 from the start, never overwritten."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> bool:
    """Create `path` readable by its owner only and write `data`; False if it already exists."""
    path = Path(path)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True
