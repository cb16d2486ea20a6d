"""Where things live. One data directory holds every zone; each zone has its own purpose.

landing/<partner>/       identifiable extracts as partners drop them (raw zone)
quarantine/<partner>/<run_id>/   rows that failed checks, with reason codes (raw zone)
staged/<partner>/<extract>/      pseudonymised rows, one file per extract content hash
published/<run_id>/      one run's output set: cohort, links, link pairs, service use
published/current        -> the set in use (switched atomically; flows.publish)
history/cohort/          every night's cohort per framework (Delta Lake table; flows.history)
runs/<run_id>/           run summary and check results: counts, column and rule names only
ground_truth/            synthetic data only: the true person of every record, their needs
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_DATA_DIR = "MCN_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")
UMASK = 0o027  # files 0640 at most (0600 for keys and atomic writes), folders 0750


def add_user_key(parser) -> None:
    """`--key`, as every command that needs a user's grant takes it (governance/grants.py reads
    $MCN_USER_KEY_FILE when it is not given)."""
    from governance.grants import ENV_USER_KEY_FILE

    parser.add_argument(
        "--key", type=Path, help=f"your private key (default ${ENV_USER_KEY_FILE}); needs a grant"
    )


def restrict_umask() -> None:
    """Everything this process writes is unreadable to other users of the host."""
    os.umask(UMASK)


@dataclass(frozen=True)
class Zones:
    root: Path

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Zones:
        return cls(Path(data_dir or os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR))

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def staged(self) -> Path:
        return self.root / "staged"

    @property
    def vault(self) -> Path:
        return self.root / "vault"

    @property
    def optout(self) -> Path:
        return self.root / "optout"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def history(self) -> Path:
        """The cohort history: a Delta Lake table (flows.history)."""
        return self.root / "history" / "cohort"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def current(self) -> Path:
        """The published set in use (a symlink to published/<run_id>)."""
        return self.published / "current"

    @property
    def cohort(self) -> Path:
        return self.current / "cohort.parquet"

    @property
    def links(self) -> Path:
        return self.current / "links.parquet"

    @property
    def link_pairs(self) -> Path:
        return self.current / "link_pairs.parquet"

    @property
    def service_use(self) -> Path:
        """Events per person, month and event type (schemas/service_use.py)."""
        return self.current / "service_use.parquet"

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth" / "records.parquet"

    @property
    def true_needs(self) -> Path:
        """Synthetic data only: each true person's need domains."""
        return self.root / "ground_truth" / "people.parquet"
