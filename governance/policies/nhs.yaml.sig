{
  "policy": "nhs.yaml",
  "sha256": "af703d6fd31af90fd5f172c0017c3fa49e7b77956b1bff639401884af1450e9c",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-f53dbdf01990",
  "signed_at": "2026-11-30T10:25:39+00:00",
  "signature": "v3pvRkXXS1TlNTv1InYPuJVcAFdaGx+sna+q6RL/MJMSm/oNwOo1Pi5MlEFbQ+lSWZwDFSaEYOBeEikZwnzvDw=="
}
