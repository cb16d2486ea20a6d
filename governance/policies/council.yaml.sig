{
  "policy": "council.yaml",
  "sha256": "47b410484b1f63d79a10546214263b2726f858d0e964e0ac2a109991ef51fbfb",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-f53dbdf01990",
  "signed_at": "2026-11-30T10:25:39+00:00",
  "signature": "IufMXfqTO7w/ev1vA1029eaBRa+aXr0botZuWgyXXti3/qsz4MRnGZwokAvYOqbz0KHqTn3fJxo5YBzoT8/YAQ=="
}
