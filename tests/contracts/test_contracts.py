"""Contracts between parts: schemas documented, policies cover schemas, imports flow one way,
deployments import, every CLI command has help."""

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml

from flows.cli import parser
from schemas.registry import all_extracts, partner_names

ROOT = Path(__file__).resolve().parents[2]
# schemas <- governance <- transforms <- flows
ALLOWED = {
    "schemas": {"schemas"},
    "governance": {"schemas", "governance"},
    "transforms": {"schemas", "governance", "transforms"},
    "flows": {"schemas", "governance", "transforms", "flows"},
}
EDGE_ONLY = {"prefect", "great_expectations"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_import_direction_and_only_flows_touch_prefect_or_gx(package):
    for path in (ROOT / package).rglob("*.py"):
        used = _imports(path)
        ours = used & set(ALLOWED)
        assert ours <= ALLOWED[package], f"{path} imports {ours - ALLOWED[package]}"
        if package != "flows":
            assert not used & EDGE_ONLY, f"{path} imports {used & EDGE_ONLY}"


def test_every_schema_column_is_described_and_partner_modules_exist():
    for ex in all_extracts():
        for col in ex.columns:
            assert len(col.description) > 10, f"{ex.partner}.{ex.name}.{col.name}"
        assert ex.event_date in ex.column_names
    for name in partner_names():
        for package in ("schemas", "transforms", "flows"):
            assert (ROOT / package / "partners" / f"{name}.py").exists(), (package, name)
        assert (ROOT / "governance" / "policies" / f"{name}.yaml").exists()
        assert (ROOT / "governance" / "policies" / f"{name}.yaml.sig").exists()


def test_every_prefect_yaml_entrypoint_imports_and_is_a_flow():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    nightly = [d for d in spec["deployments"] if d["name"] == "nightly"][0]
    assert nightly["schedules"][0]["cron"] == "0 2 * * *"
    assert nightly["schedules"][0]["timezone"] == "Europe/London"
    for dep in spec["deployments"]:
        module, func = dep["entrypoint"].split(":")
        obj = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), func)
        assert hasattr(obj, "deploy"), f"{dep['entrypoint']} is not a Prefect flow"


def _commands(p, prefix=()):
    for action in p._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), helps.get(name), sub
                yield from _commands(sub, (*prefix, name))


def test_every_cli_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = list(_commands(parser()))
    assert len(commands) >= 7
    for path, help_text, _ in commands:
        assert help_text, f"mcn {' '.join(path)} has no help"
        if len(path) == 2 or path[0] not in ("policy", "linkage"):
            assert f"mcn {' '.join(path)}" in readme, f"README does not show mcn {' '.join(path)}"


def test_policy_fields_are_all_described():
    import inspect

    from pydantic import BaseModel

    from governance import agreement

    models = [
        m
        for _, m in inspect.getmembers(agreement, inspect.isclass)
        if issubclass(m, BaseModel) and m.__module__ == agreement.__name__
    ]
    assert len(models) >= 9
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_generated_schema_reference_is_current():
    from flows.docs_gen import TARGET, render

    assert TARGET.read_text() == render(), "run `uv run python -m flows.docs_gen`"


def test_readme_exit_code_table_is_the_one_in_the_code():
    from schemas.errors import EXIT_CODES

    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and " | " in line]
    table = {
        int(r.split("|")[1]): r.split("|")[2].strip()
        for r in rows
        if r.split("|")[1].strip().isdigit()
    }
    assert table == {int(c): meaning for c, meaning in EXIT_CODES.items()}


def test_every_user_error_has_an_exit_code_from_the_table():
    from schemas.errors import EXIT_CODES, UserError

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = list(subclasses(UserError))
    assert len(found) >= 15
    for cls in found:
        if cls.__name__ != "NightFailed":  # carries the code of the partner that failed
            assert cls.exit_code in EXIT_CODES, cls.__name__


# The NHS number is an identifier every partner may hold, not the NHS partner: its token key is
# named "nhs" (governance/match_keys.py). "City Council" is the partnership's host in every
# agreement.
NOT_A_PARTNER = re.compile(
    r"NHS[ _-]?(numbers?|England|test|sourced|spaced|/NINO)|tok_nhs|w_nhs|"
    r"key_named\(\"nhs\"\)|MatchKey\(\"nhs\"|\(\"nhs\",\)|City Council|"
    r"nhs = |\(nhs\)|\bnhs\)|\bnhs, nino",
    re.IGNORECASE,
)


def _code_files():
    for folder in ("flows", "transforms", "governance", "schemas", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".yaml", ".toml") and "__pycache__" not in path.parts:
                yield path
    for name in ("prefect.yaml", "pyproject.toml", "Makefile"):
        yield ROOT / name


@pytest.mark.parametrize("name", partner_names())
def test_no_partner_is_named_outside_its_own_files_and_the_registry(name):
    """A partner is one unit: only its files (named after it) and the registry name it."""
    own = {
        *(
            ROOT / package / "partners" / f"{name}.py"
            for package in ("schemas", "transforms", "flows")
        ),
        ROOT / "governance" / "policies" / f"{name}.yaml",
        ROOT / "schemas" / "registry.py",
    }
    word = re.compile(rf"\b{name}\b", re.IGNORECASE)
    found = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in _code_files()
        if path not in own
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if word.search(NOT_A_PARTNER.sub("", line))
    ]
    assert found == [], f"{name} is named in {found}"
