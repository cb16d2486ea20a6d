{
  "policy": "council.yaml",
  "sha256": "dffecdcf94b97678962b2eeac801747a8008cc8512e9a83dda7b20c13e7b15e8",
  "approver": "Example Information Governance Lead (demo approver)",
  "key_id": "a-79c6c271f880",
  "signed_at": "2026-11-22T17:57:25+00:00",
  "signature": "fdWr778g0wn1xng7hq/NZtYpkMbq5yJABtHy/wQBWcI9k2iMI6lxNhheuffFC/1CiX+p7wOQUC4rXrqYVyRkCw=="
}
