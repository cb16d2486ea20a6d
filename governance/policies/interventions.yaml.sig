{
  "policy": "interventions.yaml",
  "signatures": [
    {
      "sha256": "21a48951492ebfc54d855ffb444dabd55a7f92c5c4c8c9b666bd9434afe4b7c7",
      "approver": "Example MCN Partnership Evaluation Lead (demo approver)",
      "key_id": "a-7bd7e6087a59",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T17:33:27+00:00",
      "signature": "w0kKcDWKSH7q3SC3RkhcF7KPfmFlsBi63iJxsVt8sWHS6ROyxRDcxhiPU6O914dWv8ZaEXkJiZE+iedG0Xl0Bg=="
    },
    {
      "sha256": "21a48951492ebfc54d855ffb444dabd55a7f92c5c4c8c9b666bd9434afe4b7c7",
      "approver": "Example MCN Partnership Support Team Lead (demo approver)",
      "key_id": "a-3a9b48edae6a",
      "parties": [
        "Example MCN Partnership support team"
      ],
      "signed_at": "2026-11-30T17:33:32+00:00",
      "signature": "na6qOfBk43rHSMdyuJuYLdu8nwpUDkIflj4s2ZrpAMPyEXFdKg+oO9n7974mXdiweh5JxOJ4vIuv8MCojlcHBw=="
    }
  ],
  "texts": {
    "21a48951492ebfc54d855ffb444dabd55a7f92c5c4c8c9b666bd9434afe4b7c7": "# Data-sharing agreement: the partnership's support team -> MCN partnership evaluation.\n# The intervention list (schemas/partners/interventions.py): who was supported from when, by the\n# cohort's pseudonymous person_id. Deny by default, as for every partner: a column not named is\n# dropped. It is never linked into the cohort; only the impact estimate reads it.\npartner: interventions\nagreement:\n  id: DSA-INTERVENTIONS-2026-01\n  title: Starts of support, for evaluating what changed after support\n  parties:\n    - name: Example MCN Partnership support team\n      approvers: [a-3a9b48edae6a]\n      role: provider\n      contact: {name: Support Team Lead, email: support@example-mcn.invalid}\n    - name: Example MCN Partnership (hosted by Example City Council)\n      approvers: [a-7bd7e6087a59]\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n  purpose: >-\n    Estimate what changed in service use and cost for people the partnership supported, against\n    a matched comparison group, for the partnership's business case (HM Treasury local-partnership\n    cost benefit analysis guidance, April 2014).\n  lawful_basis: UK GDPR Article 6(1)(e) public task\n  legal_gateway: >-\n    Local Government Act 2000 section 2 and the Localism Act 2011 section 1 (general power of\n    competence), for evaluating services the partnership commissions\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2026-11-30\nextracts:\n  intervention_starts:\n    record_ref: keep\n    person_id: keep          # already pseudonymous: the cohort's id, keyed by the linkage key\n    start_date: keep\n    programme: keep\n    caseworker_notes: drop   # free text: never shared\n"
  }
}
