{
  "policy": "nhs.yaml",
  "signatures": [
    {
      "sha256": "a5ebafb0ddfdb23d73488e29f8356edee478f1711e4cbcc6e8a6b99a28319d68",
      "approver": "Example Hospitals NHS FT Caldicott Guardian (demo approver)",
      "key_id": "a-1e79ec76e608",
      "parties": [
        "Example Hospitals NHS Foundation Trust"
      ],
      "signed_at": "2026-11-30T14:19:12+00:00",
      "signature": "7sZnPfYHXrYS9n5MT0oVw7H/yNp9DZwcr+8f0AbjrE8uIVA3ta8BDPCqBNrJwQfd0cpaykzAvRO2AYAis4MxBg=="
    },
    {
      "sha256": "a5ebafb0ddfdb23d73488e29f8356edee478f1711e4cbcc6e8a6b99a28319d68",
      "approver": "Example Information Governance Lead (demo approver)",
      "key_id": "a-f53dbdf01990",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T14:19:13+00:00",
      "signature": "4lXgAyNL4GqMLs5LI9E6ObXyeUyqyZ7RSKDGETX2oGWHO5pagM6Q2I4vjYsDOX1/EUKGFN6rJ9KGG86tf+9FDw=="
    },
    {
      "sha256": "a5ebafb0ddfdb23d73488e29f8356edee478f1711e4cbcc6e8a6b99a28319d68",
      "approver": "Example Mental Health NHS Trust Caldicott Guardian (demo approver)",
      "key_id": "a-c0e3da0c32bb",
      "parties": [
        "Example Mental Health NHS Trust"
      ],
      "signed_at": "2026-11-30T14:19:15+00:00",
      "signature": "XlKWozfM18ubxOkWoW90UzMHluZZeJZGfYbTjbUQ8KBqIV6cfxsY646IKqtNfDjemMfF/fu0L6DI5iLdjgkIAA=="
    },
    {
      "sha256": "a5ebafb0ddfdb23d73488e29f8356edee478f1711e4cbcc6e8a6b99a28319d68",
      "approver": "Example Recovery Service DPO (demo approver)",
      "key_id": "a-93899483a941",
      "parties": [
        "Example Recovery Service"
      ],
      "signed_at": "2026-11-30T14:19:16+00:00",
      "signature": "V2QkteM2LQs9PIPgc5L726dFhyQaQZkpG15DF2irhihzfyW1VNaB09lkgBqwtLmBqoulsevQ32sjv3JUahU6AA=="
    }
  ],
  "texts": {
    "a5ebafb0ddfdb23d73488e29f8356edee478f1711e4cbcc6e8a6b99a28319d68": "# Data-sharing agreement: NHS trusts and treatment providers -> MCN partnership.\npartner: nhs\nagreement:\n  id: DSA-NHS-2026-01\n  title: Emergency, mental-health and substance-misuse activity for multiple-needs identification\n  parties:\n    - name: Example Hospitals NHS Foundation Trust\n      role: provider\n      contact: {name: Trust Caldicott Guardian, email: caldicott@example-hospitals.invalid}\n      approvers: [a-1e79ec76e608]   # key ids; approvals_required defaults to 1\n    - name: Example Mental Health NHS Trust\n      role: provider\n      contact: {name: Trust Caldicott Guardian, email: caldicott@example-mh.invalid}\n      approvers: [a-c0e3da0c32bb]   # key ids; approvals_required defaults to 1\n    - name: Example Recovery Service\n      role: provider\n      contact: {name: Service Data Protection Lead, email: dp@example-recovery.invalid}\n      approvers: [a-93899483a941]   # key ids; approvals_required defaults to 1\n    - name: Example MCN Partnership (hosted by Example City Council)\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n      approvers: [a-f53dbdf01990]   # key ids; approvals_required defaults to 1\n  purpose: >-\n    Identify adults with multiple and complex needs known to several services, so that the\n    partnership can plan joined-up support and commission services.\n  lawful_basis: UK GDPR Article 6(1)(e) public task; Article 9(2)(h) health or social care\n  special_category_condition: >-\n    Article 9(2)(h) health or social care; DPA 2018 Schedule 1 Part 1 paragraph 2\n  legal_gateway: Health and Social Care Act 2012 section 251B; Care Act 2014 section 6\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2025-12-15\n  opt_out:\n    national_data_opt_out: true\n    max_list_age_days: 31\n  reidentification:\n    roles: [mcn_caseworker]\n    purposes: [offer_joined_up_support, safeguarding]\nextracts:\n  ae_attendances:\n    record_ref: keep\n    arrival_date: keep\n    alcohol_related: keep\n    drug_related: keep\n    self_harm: keep\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n  mh_referrals:\n    record_ref: keep\n    referral_date: keep\n    primary_reason: keep\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n  treatment_episodes:\n    record_ref: keep\n    triage_date: keep\n    substance: keep\n    discharge_date: keep\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n"
  }
}
