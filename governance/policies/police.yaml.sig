{
  "policy": "police.yaml",
  "sha256": "aadff45e423ab08ffd323982c4ec9ecb61aac48d29ae3188d3fbfb403a67b906",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-f53dbdf01990",
  "signed_at": "2026-11-30T10:25:39+00:00",
  "signature": "kUrG4pAMGOW8HzirkFf93YzuQcPtZS7f+cVjH97Z41OmCVI0qUOLKNt7HcRe9NHtoOQL4+DMtL4DpPYHujsUDQ=="
}
