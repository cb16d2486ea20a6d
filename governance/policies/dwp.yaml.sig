{
  "policy": "dwp.yaml",
  "sha256": "31dc1759cdc98d0672bcac16a2b7ded3aea8b75d4e6e72039e557d185a90ba4d",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-f53dbdf01990",
  "signed_at": "2026-11-30T10:25:39+00:00",
  "signature": "XzetoUJJRMpIxC8b4wcN8OXTGx62MlJ6xgC1lB8k0fo6TDMPfvg2WZrtdjlmOAj4eTje0uK19wQyTdFxabgGBQ=="
}
