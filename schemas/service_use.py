"""The service-use table contract: one row per person, month and event type, pseudonymous.

Built each night beside the cohort (flows.cohort_build) from every partner's staged events,
under the same opt-out, objection and policy rules: a person removed from the cohort is removed
here too. Each partner declares the event types its records give in its own module,
`transforms/partners/<name>.py` (`SERVICE_USE`); unit costs (transforms/costs.py) price them.
"""

from schemas.contract import Column

COLUMNS = (
    Column("person_id", "str", "Pseudonymous person id (as in the cohort).", required=True),
    Column("month", "date", "First day of the month the events fall in.", required=True),
    Column(
        "event_type",
        "str",
        "What happened, as a partner module declares it (e.g. ae_attendance).",
        required=True,
    ),
    Column("events", "int", "How many such events the person had that month.", required=True),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
