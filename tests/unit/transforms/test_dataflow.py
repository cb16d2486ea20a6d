from governance.policy import check_all
from schemas.registry import all_extracts, partner_names
from transforms.dataflow import data_flow_map


def test_every_source_column_of_every_partner_is_mapped():
    flows = data_flow_map(check_all(verify=False)[0])
    mapped = {(f.partner, f.extract, f.column) for f in flows}
    expected = {
        (ex.partner, ex.name, c)
        for ex in all_extracts()
        if ex.partner in partner_names()  # a list (the intervention list) is never linked
        for c in ex.column_names
    }
    assert mapped == expected


def test_identity_columns_reach_tokens_and_person_id_but_never_the_cohort_raw():
    flows = {(f.partner, f.extract, f.column): f for f in data_flow_map(check_all()[0])}
    dob = flows[("police", "crimes", "date_of_birth")]
    assert "staged.tok_mk1" in dob.staged and "cohort.age_band" in dob.published
    assert "cohort.person_id" in dob.published
    assert not any(p.startswith("cohort.date_of_birth") for p in dob.published)
    nhs = flows[("nhs", "ae_attendances", "nhs_number")]
    assert "staged.tok_nhs" in nhs.staged and "vault.sealed (AES-SIV)" in nhs.staged


def test_need_condition_columns_reach_their_need_flag():
    flows = {(f.partner, f.extract, f.column): f for f in data_flow_map(check_all()[0])}
    assert "cohort.need_mental_health" in flows[("nhs", "ae_attendances", "self_harm")].published
    assert "cohort.need_worklessness" in flows[("dwp", "uc_claims", "regime")].published
    assert flows[("police", "crimes", "offence_category")].published == ()
