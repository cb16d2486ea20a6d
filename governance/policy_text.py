"""Edits to a policy's text that keep its comments and layout (the text is what is signed)."""

from __future__ import annotations

import re

import yaml

from governance.errors import PolicyError, Problem


def _parties(text: str) -> list[dict]:
    try:
        return list((yaml.safe_load(text) or {}).get("agreement", {}).get("parties") or [])
    except (yaml.YAMLError, AttributeError):
        return []


def with_approver(text: str, party: str, key_id: str, where: str) -> str:
    """The text with key_id added to the party's `approvers` list (made when it has none)."""
    names = [p.get("name") for p in _parties(text)]
    if party not in names:
        raise PolicyError(
            [
                Problem(
                    where,
                    "agreement.parties",
                    "POL027",
                    f"no party is named '{party}'; the parties are: {'; '.join(map(str, names))}",
                )
            ]
        )
    lines = text.split("\n")
    start = next(
        i for i, line in enumerate(lines) if re.match(rf"\s*- name: {re.escape(party)}\s*$", line)
    )
    indent = " " * (len(lines[start]) - len(lines[start].lstrip()) + 2)
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(indent)), len(lines)
    )
    for i in range(start + 1, end):
        found = re.match(rf"^{indent}approvers:\s*\[(.*)\](.*)$", lines[i])
        if found:
            ids = [s.strip() for s in found.group(1).split(",") if s.strip()]
            if key_id not in ids:
                ids.append(key_id)
            lines[i] = f"{indent}approvers: [{', '.join(ids)}]{found.group(2)}"
            return "\n".join(lines)
    lines.insert(start + 1, f"{indent}approvers: [{key_id}]")
    return "\n".join(lines)
