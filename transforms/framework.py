"""Needs frameworks: which qualifying events count towards which need, over which lookback,
and how many needs put a person in the cohort. Versioned data, one YAML file a framework:

    transforms/frameworks/<name>.yaml

    name: changing-futures          # the file's stem; `mcn cohort build --framework NAME`
    title: Changing Futures
    source: where the definition comes from (programme guidance)
    description: ...
    threshold: 3                    # needs at which a person is in the cohort (mcn_flag)
    lookback_days: 365              # default for every need
    needs:
      homelessness:                 # a need domain of the cohort (schemas/cohort.py NEEDS)
        label: Homelessness         # the framework's own term for it
        events: [homelessness_case, assessed_accommodation_need]
        lookback_days: 730          # optional, this need only

Events are declared by the partners (transforms/partners/<name>.py `EVENTS`), so a framework
never names a partner. Compiled, a framework is a tuple of NeedRules (polars conditions with a
lookback). Its version is a hash of its content: the parsed file and the definition of every
event it uses, so it changes when any definition changes (including a partner's condition).
Domains a framework does not use are false in its cohort and not counted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from governance.errors import Problem, SettingsError
from schemas.cohort import NEEDS
from transforms.needs import Event, NeedRule, all_events

FRAMEWORK_DIR = Path(__file__).resolve().parent / "frameworks"
DEFAULT_FRAMEWORK = "mcn-default"
_KEYS = {"name", "title", "source", "description", "threshold", "lookback_days", "needs"}
_NEED_KEYS = {"label", "events", "lookback_days"}


@dataclass(frozen=True)
class Need:
    domain: str  # one of schemas.cohort.NEEDS
    label: str
    events: tuple[str, ...]
    lookback_days: int


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    source: str
    description: str
    threshold: int
    lookback_days: int
    needs: tuple[Need, ...]
    version: str  # <name>@<12 hex of the content hash>
    path: str = ""

    def rules(
        self, events: dict[str, tuple[Event, ...]] | None = None, lookback_days: int | None = None
    ) -> tuple[NeedRule, ...]:
        """The compiled rules; `lookback_days` overrides every need's (a sensitivity run)."""
        events = all_events() if events is None else events
        return tuple(
            NeedRule(need.domain, event, lookback_days or need.lookback_days)
            for need in self.needs
            for e in need.events
            for event in events[e]
        )

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(n.domain for n in self.needs)


def slug(name: str) -> str:
    return name.replace("-", "_")


def shipped() -> list[str]:
    return sorted(p.stem for p in FRAMEWORK_DIR.glob("*.yaml"))


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def parse(
    text: str, where: str, events: dict[str, tuple[Event, ...]] | None = None
) -> tuple[Framework | None, list[Problem]]:
    """A framework from its YAML text, and every problem found (codes SET001, SET005-SET008)."""
    events = all_events() if events is None else events
    problems: list[Problem] = []

    def bad(key: str, code: str, message: str) -> None:
        problems.append(Problem(where, key, code, message))

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        bad("(file)", "SET008", "is not a YAML mapping; see transforms/framework.py for the shape")
        return None, problems
    for key in sorted(set(data) - _KEYS):
        bad(key, "SET008", f"unknown key; the keys are {', '.join(sorted(_KEYS))}")
    for key in ("name", "title", "source", "description"):
        if not isinstance(data.get(key), str) or not data.get(key):
            bad(key, "SET008", "must be given as text")
    for key in ("threshold", "lookback_days"):
        if not _int(data.get(key)):
            bad(key, "SET007", "must be a whole number of at least 1")
    needs_in = data.get("needs")
    if not isinstance(needs_in, dict) or not needs_in:
        bad("needs", "SET008", "must map need domains to their definitions")
        needs_in = {}
    needs = []
    for domain, spec in needs_in.items():
        key = f"needs.{domain}"
        if domain not in NEEDS:
            bad(
                key,
                "SET001",
                f"unknown need {domain}; the need domains are {', '.join(NEEDS)} "
                "(schemas/cohort.py NEEDS): use one of them or add it there",
            )
        if not isinstance(spec, dict):
            bad(key, "SET008", "must be a mapping with label and events")
            continue
        for k in sorted(set(spec) - _NEED_KEYS):
            bad(f"{key}.{k}", "SET008", f"unknown key; a need has {', '.join(sorted(_NEED_KEYS))}")
        names = spec.get("events")
        if not isinstance(names, list) or not names:
            bad(f"{key}.events", "SET008", "must list at least one event")
            names = []
        for i, name in enumerate(names):
            if name not in events:
                bad(
                    f"{key}.events[{i}]",
                    "SET005",
                    f"no partner declares the event {name}; events are declared in "
                    "transforms/partners/<partner>.py EVENTS (see docs/data-dictionary.md)",
                )
        lookback = spec.get("lookback_days", data.get("lookback_days"))
        if "lookback_days" in spec and not _int(lookback):
            bad(f"{key}.lookback_days", "SET007", "must be a whole number of at least 1")
        needs.append(
            Need(
                str(domain),
                str(spec.get("label") or domain),
                tuple(str(n) for n in names),
                lookback if isinstance(lookback, int) and _int(lookback) else 1,
            )
        )
    threshold = data.get("threshold")
    if isinstance(threshold, int) and _int(threshold) and needs and threshold > len(needs):
        bad(
            "threshold",
            "SET006",
            f"is {threshold} but the framework defines only {len(needs)} needs: nobody could "
            "meet it",
        )
    if data.get("name") and Path(where).stem != data.get("name") and where.endswith(".yaml"):
        bad("name", "SET008", f"must be the file's name ({Path(where).stem})")
    if problems:
        return None, problems
    version = f"{data['name']}@{content_hash(data, events)}"
    fw = Framework(
        data["name"],
        data["title"],
        data["source"],
        data["description"].strip(),
        threshold,  # type: ignore[arg-type]
        data["lookback_days"],
        tuple(needs),
        version,
        where,
    )
    return fw, []


def content_hash(data: dict, events: dict[str, tuple[Event, ...]]) -> str:
    """Hash of the parsed definition and of every event it uses (partner, extract, condition,
    description): any change to a definition changes the version."""
    used = sorted({e for spec in data["needs"].values() for e in spec["events"]})
    body = {
        "framework": data,
        "events": {
            name: [[e.partner, e.extract, str(e.condition), e.description] for e in events[name]]
            for name in used
        },
    }
    text = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def framework_path(name: str) -> Path:
    return FRAMEWORK_DIR / f"{name}.yaml"


def load(
    name: str = DEFAULT_FRAMEWORK, events: dict[str, tuple[Event, ...]] | None = None
) -> Framework:
    """A shipped framework, checked; SettingsError listing every problem."""
    path = framework_path(name)
    if name not in shipped():
        raise SettingsError(
            [
                Problem(
                    _shown(FRAMEWORK_DIR),
                    name,
                    "SET009",
                    f"no needs framework {name}; the frameworks are {', '.join(shipped())}",
                )
            ]
        )
    fw, problems = parse(path.read_text(encoding="utf-8"), _shown(path), events)
    if fw is None:
        raise SettingsError(problems)
    return fw


def load_all(names: list[str] | None = None) -> list[Framework]:
    return [load(n) for n in (names or [DEFAULT_FRAMEWORK])]


def framework_problems(events: dict[str, tuple[Event, ...]] | None = None) -> list[Problem]:
    """Every problem in every shipped framework."""
    out = []
    for name in shipped():
        path = framework_path(name)
        out += parse(path.read_text(encoding="utf-8"), _shown(path), events)[1]
    return out
