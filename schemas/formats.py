"""Identifier formats shared by contracts, checks and the synthetic generator."""

# NHS number: ten digits; the tenth is a modulus 11 check digit over the first nine
# (weights 10..2). Repeated-digit numbers (0000000000 ... 9999999999) pass the checksum
# but are never issued, so they are rejected.
NHS_NUMBER_PATTERN = r"^[0-9]{10}$"
NHS_TEST_RANGE = (9_990_000_000, 9_999_999_999)  # reserved for testing; synthetic data only

# National Insurance number (HMRC NIM39110): two prefix letters, six digits, suffix A-D.
# First letter not D F I Q U V; second not D F I O Q U V; never allocated prefixes below.
NINO_PATTERN = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"
NINO_NEVER_ALLOCATED = ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")

# UK postcode in canonical form (upper case, single space before the inward code).
POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"
