{
  "policy": "police.yaml",
  "signatures": [
    {
      "sha256": "9cb31e6fea26776c21fe3011fefb62646ff77f8dc26416b79942dd6907418b2a",
      "approver": "Example Constabulary DPO (demo approver)",
      "key_id": "a-dc1786ed32d4",
      "parties": [
        "Example Constabulary"
      ],
      "signed_at": "2026-11-30T14:19:10+00:00",
      "signature": "sFIUJGLABxpCyMuygnuochQaC8UNbP3ePMu/vk5sa/ed4MQv9g3ezSt07Y4JyImZpaoGY0G6eBWsGXNw1fboBQ=="
    },
    {
      "sha256": "9cb31e6fea26776c21fe3011fefb62646ff77f8dc26416b79942dd6907418b2a",
      "approver": "Example Information Governance Lead (demo approver)",
      "key_id": "a-f53dbdf01990",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T14:19:13+00:00",
      "signature": "QtzpIAJm4eJBn8pqhKQAu/BVgWjAp8ZNy73Y+ywWnOvWNTcLaARLLEWtMf/Dp8Sxqt5pWulEfuUnXm2/IvvkDA=="
    }
  ],
  "texts": {
    "9cb31e6fea26776c21fe3011fefb62646ff77f8dc26416b79942dd6907418b2a": "# Data-sharing agreement: police -> MCN partnership.\n# Every column of every extract gets a treatment: drop | keep | pseudonymise |\n# {generalise: age_band | postcode_sector | postcode_district}, or a list of them.\n# A column not named here is dropped (deny by default) and reported by `mcn policy check`.\npartner: police\nagreement:\n  id: DSA-POLICE-2026-01\n  title: Police crimes and incidents for multiple-needs identification\n  parties:\n    - name: Example Constabulary\n      role: provider\n      contact: {name: Force Data Protection Officer, email: dpo@example-constabulary.invalid}\n      approvers: [a-dc1786ed32d4]   # key ids; approvals_required defaults to 1\n    - name: Example MCN Partnership (hosted by Example City Council)\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n      approvers: [a-f53dbdf01990]   # key ids; approvals_required defaults to 1\n  purpose: >-\n    Identify adults with multiple and complex needs known to several services, so that the\n    partnership can plan joined-up support and commission services.\n  lawful_basis: UK GDPR Article 6(1)(e) public task\n  criminal_offence_condition: >-\n    DPA 2018 section 10(5) and Schedule 1 Part 2 paragraph 6 (statutory and government purposes);\n    processing under the control of official authority (Article 10)\n  legal_gateway: Crime and Disorder Act 1998 section 115\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2025-12-15\n  reidentification:\n    roles: [mcn_caseworker]\n    purposes: [offer_joined_up_support, safeguarding]\nextracts:\n  crimes:\n    record_ref: keep\n    event_date: keep\n    offence_category: keep\n    role: keep\n    domestic_abuse: keep\n    anti_social_behaviour: keep\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n"
  }
}
