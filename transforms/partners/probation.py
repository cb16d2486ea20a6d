"""Probation records' qualifying events: supervision and its OASys-style assessed needs
(accommodation, drugs or alcohol)."""

import polars as pl

from transforms.needs import ANY, Event
from transforms.service_use import UseRule

EVENTS = (
    Event(
        "supervised_sentence",
        "supervision_episodes",
        ANY,
        "under probation supervision (licence, community or suspended sentence order)",
    ),
    Event(
        "assessed_accommodation_need",
        "supervision_episodes",
        pl.col("need_accommodation"),
        "OASys accommodation need linked to offending",
    ),
    Event(
        "assessed_drug_or_alcohol_need",
        "supervision_episodes",
        pl.col("need_drugs") | pl.col("need_alcohol"),
        "OASys drug or alcohol misuse need linked to offending",
    ),
)

SERVICE_USE = (
    UseRule(
        "probation_supervision",
        "supervision_episodes",
        ANY,
        "a probation supervision episode started (licence, community or suspended sentence order)",
    ),
)
