{
  "policy": "council.yaml",
  "signatures": [
    {
      "sha256": "6c173f5fc58dfb8b88ffcb32b0cc072da73e8f7ab84031e49e70731b5f436ef2",
      "approver": "Example City Council Adult Social Care Caldicott Guardian (demo approver)",
      "key_id": "a-dc5f86448719",
      "parties": [
        "Example City Council Adult Social Care"
      ],
      "signed_at": "2026-11-30T14:19:06+00:00",
      "signature": "jajEpfSmvGNC4dlOrAZ+qzpoaXzrZg2EFoiVYH+N4wVWuXApqVdgnifctrncckXfsbEIFjzubgFHqRBp93MmDg=="
    },
    {
      "sha256": "6c173f5fc58dfb8b88ffcb32b0cc072da73e8f7ab84031e49e70731b5f436ef2",
      "approver": "Example City Council Housing Options SIRO (demo approver)",
      "key_id": "a-ce7edbc09063",
      "parties": [
        "Example City Council Housing Options"
      ],
      "signed_at": "2026-11-30T14:19:08+00:00",
      "signature": "CjWdgY8Kk0vKi2jWriOYK/z0wXFvfYxCyH6ZtSRfqfC1TNqaR4iAw7jcVVc7qPFRReAgheKFvSHagml5rkx9DQ=="
    },
    {
      "sha256": "6c173f5fc58dfb8b88ffcb32b0cc072da73e8f7ab84031e49e70731b5f436ef2",
      "approver": "Example Information Governance Lead (demo approver)",
      "key_id": "a-f53dbdf01990",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T14:19:13+00:00",
      "signature": "J/PMnlj1lm1qiMaDrJNhSe8DOfZR0Oc7mBPPv6sBqMs0xn9pj2DHttkPWbA5mBwTvl3/9UFBi3vF1a+twqOTCw=="
    }
  ],
  "texts": {
    "6c173f5fc58dfb8b88ffcb32b0cc072da73e8f7ab84031e49e70731b5f436ef2": "# Data-sharing agreement: council housing and adult social care -> MCN partnership.\npartner: council\nagreement:\n  id: DSA-COUNCIL-2026-01\n  title: Homelessness and adult social care records for multiple-needs identification\n  parties:\n    - name: Example City Council Housing Options\n      role: provider\n      contact: {name: Council Data Protection Officer, email: dpo@example-council.invalid}\n      approvers: [a-ce7edbc09063]   # key ids; approvals_required defaults to 1\n    - name: Example City Council Adult Social Care\n      role: provider\n      contact: {name: Council Data Protection Officer, email: dpo@example-council.invalid}\n      approvers: [a-dc5f86448719]   # key ids; approvals_required defaults to 1\n    - name: Example MCN Partnership (hosted by Example City Council)\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n      approvers: [a-f53dbdf01990]   # key ids; approvals_required defaults to 1\n  purpose: >-\n    Identify adults with multiple and complex needs known to several services, so that the\n    partnership can plan joined-up support and commission services.\n  lawful_basis: UK GDPR Article 6(1)(e) public task; Article 9(2)(h) health or social care\n  special_category_condition: >-\n    Article 9(2)(h) health or social care; DPA 2018 Schedule 1 Part 1 paragraph 2\n  legal_gateway: Housing Act 1996 Part 7; Care Act 2014 sections 6 and 7\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2025-12-15\n  opt_out:            # adult social care records are covered by the national data opt-out\n    national_data_opt_out: true\n    max_list_age_days: 31\n  reidentification:\n    roles: [mcn_caseworker]\n    purposes: [offer_joined_up_support, safeguarding]\nextracts:\n  homelessness_cases:\n    record_ref: keep\n    decision_date: keep\n    duty_type: keep\n    reason: keep\n    support_need_mental_health: keep\n    support_need_substance: keep\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n  social_care_contacts:\n    record_ref: keep\n    contact_date: keep\n    contact_reason: keep\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n"
  }
}
