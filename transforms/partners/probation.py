"""Probation records' need rules: offending, accommodation (the homelessness domain) and
substance misuse, from supervision and its OASys-style assessment."""

import polars as pl

from transforms.needs import ANY, NeedRule
from transforms.service_use import UseRule

NEED_RULES = (
    NeedRule(
        "offending",
        "supervision_episodes",
        ANY,
        "under probation supervision (licence, community or suspended sentence order)",
    ),
    NeedRule(
        "homelessness",
        "supervision_episodes",
        pl.col("need_accommodation"),
        "OASys accommodation need linked to offending",
    ),
    NeedRule(
        "substance_misuse",
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
