{
  "policy": "dwp.yaml",
  "sha256": "31dc1759cdc98d0672bcac16a2b7ded3aea8b75d4e6e72039e557d185a90ba4d",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-79c6c271f880",
  "signed_at": "2026-11-22T17:57:25+00:00",
  "signature": "hOiHUMXw0UDbRRulh/Hs8+c9TOf+2nL/u2wj+xRuzRYoC0ILS6KzmURhmVw//G1diyf6IMTSdVtx+7n5kxveAg=="
}
