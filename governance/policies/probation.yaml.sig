{
  "policy": "probation.yaml",
  "sha256": "e8bf45350955281aff3e4c5c292a230b15b450f5b888be1ed37d868382068969",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-f53dbdf01990",
  "signed_at": "2026-11-30T14:20:08+00:00",
  "signature": "qGlGv1lDu96LrQaw5Vr1eaAH1q3rMxgUxTDHObn+TJfcowTa/jWHl30S2tDj92uUKb8KWR0fyCnuCDcaRaaDCg=="
}
