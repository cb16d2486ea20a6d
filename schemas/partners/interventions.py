"""The intervention list: who the partnership started supporting, and when.

Not a service's records but the partnership's own file, kept by its support team: one row per
start of support, naming the person by the pseudonymous `person_id` of the cohort list the
caseworker worked from (never a name or a number). It is ingested like a partner extract, under
its own signed agreement (governance/policies/interventions.yaml): read, checked, staged. It is
never linked into the cohort; the impact estimate (`mcn impact`) reads it.
"""

from schemas.contract import Column, Extract, Partner

ISO = "%Y-%m-%d"

STARTS = Extract(
    partner="interventions",
    name="intervention_starts",
    file="intervention_starts.csv",
    description="Starts of support: person_id from the cohort and the start date (CSV, ISO).",
    event_date="start_date",
    columns=(
        Column(
            "record_ref",
            "str",
            "The support team's own reference for this start; unique in the file.",
            required=True,
        ),
        Column(
            "person_id",
            "str",
            "The person's pseudonymous id, as in the published cohort the caseworker worked from.",
            required=True,
        ),
        Column("start_date", "date", "Date support started.", required=True, date_format=ISO),
        Column("programme", "str", "The support programme (the partnership's own names)."),
        Column("caseworker_notes", "str", "Free text kept by the team; never shared."),
    ),
)

PARTNER = Partner(
    "interventions",
    "The partnership's intervention list: starts of support (not a service's records).",
    (STARTS,),
)
