{
  "policy": "dwp.yaml",
  "signatures": [
    {
      "sha256": "ffd8ebbb6abe69824396bdffce3d8aebea3bbddf8abedf170141cee1a094df52",
      "approver": "DWP Data Protection Officer (demo approver)",
      "key_id": "a-9e814f4cf2da",
      "parties": [
        "Department for Work and Pensions"
      ],
      "signed_at": "2026-11-30T14:19:04+00:00",
      "signature": "7e6+fg+68h6npPHgSSLKvZVz5MHkX8ZBTcxnwP0eRZY0LdMGR4idKCrPQyIzrTI5YHTj12/7Bm7/Rm5BQMa3CA=="
    },
    {
      "sha256": "ffd8ebbb6abe69824396bdffce3d8aebea3bbddf8abedf170141cee1a094df52",
      "approver": "Example Information Governance Lead (demo approver)",
      "key_id": "a-f53dbdf01990",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T14:19:13+00:00",
      "signature": "JTbLUAFQg8RApCtG+GqGrep7f9P2UgH1/ZsdYfNN3OshOjBB6v8CEqkftdGjkelwJqSoI0OxdvX4nxgCqyolCA=="
    }
  ],
  "texts": {
    "ffd8ebbb6abe69824396bdffce3d8aebea3bbddf8abedf170141cee1a094df52": "# Data-sharing agreement: DWP -> MCN partnership.\npartner: dwp\nagreement:\n  id: DSA-DWP-2026-01\n  title: Universal Credit claims for multiple-needs identification\n  parties:\n    - name: Department for Work and Pensions\n      role: provider\n      contact: {name: DWP Data Sharing Team, email: data-sharing@example-dwp.invalid}\n      approvers: [a-9e814f4cf2da]   # key ids; approvals_required defaults to 1\n    - name: Example MCN Partnership (hosted by Example City Council)\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n      approvers: [a-f53dbdf01990]   # key ids; approvals_required defaults to 1\n  purpose: >-\n    Identify adults with multiple and complex needs known to several services, so that the\n    partnership can plan joined-up support and commission services.\n  lawful_basis: UK GDPR Article 6(1)(e) public task\n  special_category_condition: >-\n    Article 9(2)(g) substantial public interest; DPA 2018 Schedule 1 Part 2 paragraph 6\n  legal_gateway: Digital Economy Act 2017 section 35 (public service delivery)\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2025-12-15\n  reidentification:\n    roles: [mcn_caseworker]\n    purposes: [offer_joined_up_support, safeguarding]\nextracts:\n  uc_claims:\n    record_ref: keep\n    claim_start: keep\n    claim_end: keep\n    regime: keep\n    limited_capability_for_work: keep\n    nino: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n"
  }
}
