{
  "policy": "police.yaml",
  "sha256": "aadff45e423ab08ffd323982c4ec9ecb61aac48d29ae3188d3fbfb403a67b906",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-79c6c271f880",
  "signed_at": "2026-11-22T17:57:25+00:00",
  "signature": "08lv9nz69yHKyJF5PH3Pogw8C+YQ2RMTfA6k8fNAXNPFLzQbLSg5HhLfedzkSWOc7PqLUTO76Rhh5B7XFAQHAw=="
}
