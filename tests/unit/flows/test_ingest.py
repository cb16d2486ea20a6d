"""A partner run's context is made once and pins its policy: an extract is never read under
another policy than the one its partner run started with."""

import pytest

from flows import ingest
from governance.errors import PolicyError
from tests.conftest import RUN_DATE


@pytest.fixture
def data_dir(tmp_path, dev_keys):
    (tmp_path / "data" / "landing").mkdir(parents=True)
    return str(tmp_path / "data")


def test_the_run_context_is_reused_not_rebuilt(data_dir, monkeypatch):
    ctx = ingest.ingest_context(data_dir, "probation", RUN_DATE, "run-1")
    monkeypatch.setitem(ingest._CONTEXTS, ("probation", "run-1"), ctx)
    monkeypatch.setattr(ingest, "ingest_context", lambda *a: pytest.fail("context rebuilt"))
    got = ingest.partner_context(data_dir, "probation", RUN_DATE, "run-1", ctx.approval.sha256)
    assert got is ctx


def test_a_policy_changed_during_the_run_stops_the_partner(data_dir):
    with pytest.raises(PolicyError) as err:
        ingest.partner_context(data_dir, "probation", RUN_DATE, "run-2", "0" * 64)
    [problem] = err.value.problems
    assert problem.code == "POL036" and problem.file.endswith("probation.yaml")
