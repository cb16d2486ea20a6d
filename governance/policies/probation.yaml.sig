{
  "policy": "probation.yaml",
  "signatures": [
    {
      "sha256": "e94c0b027fa1eee25dd1378efa44fcc5e7228d3dddf1a79a6f1db5258ee9cdff",
      "approver": "Example Probation Delivery Unit DPO (demo approver)",
      "key_id": "a-ed78dfc2447c",
      "parties": [
        "Example Probation Delivery Unit (Probation Service)"
      ],
      "signed_at": "2026-11-30T15:33:33+00:00",
      "signature": "H3OlSmG5zdrVPj7lq0KGmsz/n4nC2tAebK9UE5r6LNPllbvfWacoN5gw4ByQ8i+tMKvo3AV6kLej5CCoo4JTCA=="
    },
    {
      "sha256": "e94c0b027fa1eee25dd1378efa44fcc5e7228d3dddf1a79a6f1db5258ee9cdff",
      "approver": "Example Information Governance Lead (demo approver)",
      "key_id": "a-f53dbdf01990",
      "parties": [
        "Example MCN Partnership (hosted by Example City Council)"
      ],
      "signed_at": "2026-11-30T15:33:34+00:00",
      "signature": "UBsr3RDauTV/ZM8Vt76nr1KPWhuT7xIMJ9hZ7zl62/OQH+5enczwSgP+je+bhGv4/VvIlTDLTt9KhUz4/lXxAQ=="
    }
  ],
  "texts": {
    "e94c0b027fa1eee25dd1378efa44fcc5e7228d3dddf1a79a6f1db5258ee9cdff": "# Data-sharing agreement: probation -> MCN partnership.\n# Every column of every extract gets a treatment: drop | keep | pseudonymise |\n# {generalise: age_band | postcode_sector | postcode_district}, or a list of them.\n# A column not named here is dropped (deny by default) and reported by `mcn policy check`.\npartner: probation\nagreement:\n  id: DSA-PROBATION-2026-01\n  title: Probation supervision and assessed needs for multiple-needs identification\n  parties:\n    - name: Example Probation Delivery Unit (Probation Service)\n      approvers: [a-ed78dfc2447c]\n      role: provider\n      contact: {name: Probation Service Data Protection Officer, email: dpo@example-probation.invalid}\n    - name: Example MCN Partnership (hosted by Example City Council)\n      approvers: [a-f53dbdf01990]\n      role: recipient\n      contact: {name: Partnership Information Governance Lead, email: ig@example-mcn.invalid}\n  purpose: >-\n    Identify adults with multiple and complex needs known to several services, so that the\n    partnership can plan joined-up support and commission services, and reduce reoffending.\n  lawful_basis: UK GDPR Article 6(1)(e) public task\n  criminal_offence_condition: >-\n    UK GDPR Article 10 (processing under the control of official authority); DPA 2018\n    section 10(5) and Schedule 1 Part 2 paragraph 6 (statutory and government purposes)\n  special_category_condition: >-\n    Article 9(2)(g) substantial public interest; DPA 2018 Schedule 1 Part 2 paragraph 6\n    (statutory and government purposes), for the OASys drug and alcohol need areas\n  legal_gateway: >-\n    Offender Management Act 2007 section 14 (disclosure for offender management purposes);\n    Crime and Disorder Act 1998 section 115\n  valid_from: 2026-01-01\n  valid_to: 2027-12-31\n  review_date: 2027-06-30\n  retention:          # days, per zone\n    landing: 30\n    quarantine: 30\n    staged: 730\n    vault: 730\n  sign_off:\n    name: Example Information Governance Lead\n    role: Senior Information Risk Owner, Example MCN Partnership\n    date: 2026-11-30\n  reidentification:\n    roles: [mcn_caseworker]\n    purposes: [offer_joined_up_support, safeguarding]\nextracts:\n  supervision_episodes:\n    record_ref: keep\n    crn: pseudonymise\n    start_date: keep\n    end_date: keep\n    order_type: keep\n    tier: keep\n    need_accommodation: keep\n    need_ete: keep\n    need_finance: keep\n    need_relationships: keep\n    need_lifestyle: keep\n    need_drugs: keep\n    need_alcohol: keep\n    need_thinking_behaviour: keep\n    need_attitudes: keep\n    pnc_id: drop            # not needed: the CRN and the person's details link the records\n    nhs_number: pseudonymise\n    forename: pseudonymise\n    surname: pseudonymise\n    date_of_birth: [pseudonymise, {generalise: age_band}]\n    sex: [pseudonymise, keep]\n    postcode: [pseudonymise, {generalise: postcode_district}]\n"
  }
}
