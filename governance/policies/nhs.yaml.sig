{
  "policy": "nhs.yaml",
  "sha256": "af703d6fd31af90fd5f172c0017c3fa49e7b77956b1bff639401884af1450e9c",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-79c6c271f880",
  "signed_at": "2026-11-22T17:57:25+00:00",
  "signature": "3QM4SYEG1v4phQcLTzAq/T+FrzREQPmEfQdU0gzFMYrk8a/Gq8Zci+Q1Wcy1jAgekUHiaQAvDjp2TkwdH0LfDw=="
}
