"""`mcn ig ropa`: the Article 30(1) record through the real CLI."""

import dataclasses
import shutil

from openpyxl import load_workbook

import schemas.partners.nhs
from flows.cli import main
from governance.policy import POLICY_DIR, check_all
from governance.ropa import HEADER
from schemas.contract import Column

# Article 30(1)(a)-(g) and the columns of the ICO template that carry them.
ARTICLE_30 = {
    "a": "Name and contact details of controller and joint controllers",
    "b": "Purpose of processing",
    "c": "Categories of individuals",
    "c2": "Categories of personal data",
    "d": "Categories of recipients",
    "e": "Transfers to third countries or international organisations",
    "f": "Retention schedule",
    "g": "General description of technical and organisational security measures",
}


def _rows(out):
    sheet = load_workbook(out / "record-of-processing-activities.xlsx")["Controller"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    at = next(i for i, r in enumerate(rows) if r[0] == HEADER[0])
    return [dict(zip(rows[at], r, strict=True)) for r in rows[at + 1 :]]


def test_the_record_holds_every_article_30_field_for_every_agreement(tmp_path, capsys):
    assert main(["ig", "ropa", "--out", str(tmp_path)]) == 0
    rows = _rows(tmp_path)
    policies, _ = check_all(verify=False)
    for policy in policies.values():
        mine = [r for r in rows if r["Processing activity"].startswith(policy.agreement.id)]
        assert mine, policy.agreement.id
        for r in mine:
            for field in ARTICLE_30.values():
                assert r[field] and r[field] != "-", (policy.agreement.id, field)
    police = next(r for r in rows if "police.crimes" in r["Processing activity"])
    assert police["Criminal offence data (Article 10)"].startswith("Criminal offence data")
    nhs = next(r for r in rows if "nhs.ae_attendances" in r["Processing activity"])
    assert nhs["Special category data (Article 9)"].startswith("Special category data")
    for suffix in (".md", ".html"):
        text = (tmp_path / f"record-of-processing-activities{suffix}").read_text()
        assert all(h in text for h in HEADER)


def test_a_new_special_category_column_in_a_contract_appears_in_the_record(tmp_path, monkeypatch):
    ex = schemas.partners.nhs.PARTNER.extract("ae_attendances")
    extra = Column("diagnosis_group", "str", "Diagnosis group.", category="special")
    grown = dataclasses.replace(ex, columns=(*ex.columns, extra))
    partner = dataclasses.replace(
        schemas.partners.nhs.PARTNER,
        extracts=tuple(
            grown if e.name == ex.name else e for e in schemas.partners.nhs.PARTNER.extracts
        ),
    )
    monkeypatch.setattr(schemas.partners.nhs, "PARTNER", partner)
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "nhs.yaml"
    path.write_text(
        path.read_text().replace(
            "    arrival_date: keep\n", "    arrival_date: keep\n    diagnosis_group: keep\n"
        )
    )
    assert main(["ig", "ropa", "--out", str(tmp_path / "out"), "--policy-dir", str(policies)]) == 0
    row = next(
        r for r in _rows(tmp_path / "out") if "nhs.ae_attendances" in r["Processing activity"]
    )
    assert "Diagnosis group (diagnosis_group: keep)" in row["Special category data (Article 9)"]
