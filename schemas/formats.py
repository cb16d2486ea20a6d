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

# A time of day after a date ("2026-10-01 00:00:00", "01/10/2026 14:30", "... 12:00:00 AM",
# "...T00:00:00Z"): how database and spreadsheet exports write a date. With no zone the date is
# the writer's own and the time is dropped (NAIVE_TIME); so is midnight in any zone
# (ZONED_MIDNIGHT: "1980-01-15 00:00:00 +01:00" is a date kept at midnight where it was
# written, as a system east of the UK keeps one). Another zoned time may be a date moved a day
# by the zone ("1967-04-22T23:00:00Z" is midnight in British Summer Time), so it is read as the
# date in the UK at that moment (flows.reader), not as written. A time that is no time
# ("25:00", "13:00 PM", an offset of "+00:99") matches none of them: the date rule judges it.
_AFTER_DATE = r"(?: +|T)"  # what parts a date from its time: spaces, or ISO's T
_CLOCK = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?"
_CLOCK_12 = r"(?:0?[1-9]|1[0-2]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)? ?[AaPp][Mm]"
# A zone after a time, with or without a space before it: Z, UTC or GMT, or an offset of at
# most 14 hours with or without its minutes (ISO "+01:00", SQL Server datetimeoffset
# " +01:00", PostgreSQL "+01").
_ZONE = r"(Z|UTC|GMT|[+-](?:0[0-9]|1[0-4])(?::?[0-5][0-9])?)"
NAIVE_TIME = rf"^(.+?){_AFTER_DATE}(?:{_CLOCK}|{_CLOCK_12})$"
ZONED_MIDNIGHT = rf"^(.+?){_AFTER_DATE}0?0:00(?::00(?:\.0+)?)? ?{_ZONE}$"
ZONED_TIME = rf"^.+?{_AFTER_DATE}{_CLOCK} ?{_ZONE}$"
# A naive time that is exactly midnight, or exactly 23:00 (24- or 12-hour clock): a column of
# dates kept at midnight in the UK and converted to UTC without its zone holds only these, 23:00
# the day before on every date in British Summer Time (flows.reader.uk_midnights_in_utc).
_WHOLE_SECOND = r"(?::00(?:\.0+)?)?"
NAIVE_MIDNIGHT = rf"^(.+?){_AFTER_DATE}(?:0?0:00{_WHOLE_SECOND}|12:00{_WHOLE_SECOND} ?[Aa][Mm])$"
NAIVE_ELEVEN_PM = rf"^(.+?){_AFTER_DATE}(?:23:00{_WHOLE_SECOND}|11:00{_WHOLE_SECOND} ?[Pp][Mm])$"
# The parts of a zoned time: 1 the date, 2 hours, 3 minutes, 5 seconds, 6 the fraction of a
# second, 7 the zone.
ZONED_PARTS = (
    r"^(.+?)" + _AFTER_DATE + r"([0-9]{1,2}):([0-9]{2})(:([0-9]{2})(\.[0-9]+)?)? ?" + _ZONE + "$"
)
# A whole number written through a float or decimal column ("9991234567.0": pandas makes a
# column of numbers with a gap float; "9991234567.00": a database's decimal(12,2)), padded or
# signed as fixed-width exports write it: group 1 is the number, sign and digits. A decimal
# comma too, as a spreadsheet in a comma-decimal locale writes one ("9991234567,0" in a `;`
# file), with one or two zeros only: ",000" is a thousands group ("12,000" is twelve thousand).
WHOLE_FLOAT = r"^\s*([+-]?[0-9]+)(?:\.0+|,0{1,2})\s*$"
