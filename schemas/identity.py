"""Column declarations that every partner shares: who the record is about."""

from schemas.contract import Category, Column


def record_ref(what: str) -> Column:
    return Column(
        "record_ref",
        "str",
        f"The partner's own reference for the {what}; unique in the file.",
        required=True,
    )


def forename() -> Column:
    return Column("forename", "str", "Given name as recorded.", identity="forename")


def surname() -> Column:
    return Column("surname", "str", "Family name as recorded.", identity="surname")


def date_of_birth(date_format: str) -> Column:
    return Column(
        "date_of_birth",
        "date",
        "Date of birth as recorded.",
        identity="dob",
        date_format=date_format,
    )


def sex(*codes: str) -> Column:
    return Column(
        "sex",
        "str",
        "Sex as recorded (codes differ by partner).",
        identity="sex",
        allowed=codes,
    )


def postcode() -> Column:
    return Column(
        "postcode",
        "str",
        "Home postcode as recorded, any spacing or case.",
        identity="postcode",
        format="postcode",
    )


def nhs_number(required: bool) -> Column:
    return Column(
        "nhs_number",
        "str",
        "NHS number, ten digits with a modulus 11 check digit.",
        required=required,
        identity="nhs_number",
        format="nhs_number",
    )


def yes_no(name: str, description: str, category: Category | None = None) -> Column:
    return Column(name, "bool", description, allowed=("Y", "N"), category=category)


def person(nhs_required: bool, date_format: str, sex_codes: tuple[str, ...]) -> tuple:
    """The identity columns of a health or care record: NHS number, names, DOB, sex, postcode."""
    return (
        nhs_number(required=nhs_required),
        forename(),
        surname(),
        date_of_birth(date_format),
        sex(*sex_codes),
        postcode(),
    )
