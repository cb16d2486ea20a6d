"""Statistical disclosure control of count tables: what may leave the partnership.

Every figure that leaves (a query result, a publication, the board report) goes through here:

1. **Primary suppression.** A count from 1 to `threshold` (default 7) is redacted: it could
   single out a handful of people. Zero is published: it says nobody, and structural zeros are
   common (OpenSAFELY's rule: counts <= 7 redacted, the rest rounded to 5).
2. **Secondary suppression.** A table is published with its totals (each row, each column, the
   whole). A redacted cell that is the only one redacted in a row would be that row's total less
   the rest, so in every line of the table (a row or column with its total) that has exactly
   one redacted entry, one more is redacted: the smallest non-zero cell left in that line (the
   total itself when no cell is left). Repeated until no line has exactly one. Then an audit:
   for each cell redacted as small, a linear programme finds the least and greatest value
   consistent with everything published (each published count within rounding of the truth,
   the table's additivity); while any such range is narrower than `threshold`, the smallest
   published entry in that cell's lines is redacted too (tau-ARGUS's "audit" step, greedily).
3. **Rounding.** Every published count is rounded to the nearest multiple of `rounding`
   (default 5), halves up; so no published count lies between 1 and `threshold` (8 becomes 10).
4. **Differencing.** Two publications of the same table, e.g. last month's and tonight's, could
   together show a small group (the people who left) that neither shows alone. `differencing`
   compares the exact counts of this table with those kept from the last publication (kept in
   the audit log as counts keyed by a hash of the cell, never the cell's labels) and names every
   published cell whose exact change is between 1 and `threshold`.

Tables are polars frames: one or two label columns and a count column. Cells absent from the
frame are zeros. The attacker in tests/unit/governance/test_disclosure.py tries to recover each
redacted cell from what is published (linear programming over the totals and rounding bounds).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import polars as pl

from schemas.errors import ExitCode, UserError

TOTAL = "Total"  # the label of a margin (row or column total) in a controlled table


class DisclosureError(UserError):
    """A figure would leave without passing disclosure control (user-fixable: group coarser)."""

    exit_code = ExitCode.QUERY_REFUSED


@dataclass(frozen=True)
class DisclosureRules:
    """Per agreement: counts 1..threshold are redacted; every count is rounded to `rounding`."""

    threshold: int = 7
    rounding: int = 5

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.rounding < 1:
            raise ValueError("disclosure threshold must be >= 0 and rounding >= 1")


DEFAULT_RULES = DisclosureRules()


def strictest(rules: list[DisclosureRules]) -> DisclosureRules:
    """The rules a figure from several agreements' data must meet: the highest threshold and
    the coarsest rounding of them all (the defaults when there are none)."""
    if not rules:
        return DEFAULT_RULES
    return DisclosureRules(max(r.threshold for r in rules), max(r.rounding for r in rules))


@dataclass
class Controlled:
    """A table after control: the published frame (label columns, then the count, null where
    redacted, margins labelled TOTAL), and what was done, for the output-checking record."""

    published: pl.DataFrame
    dims: list[str]
    count: str
    rules: DisclosureRules
    primary: int = 0
    secondary: int = 0
    cells: int = 0
    exact: dict[str, int] = field(default_factory=dict)  # cell hash -> exact count (for diffs)

    def record(self) -> dict:
        """What was checked and which rules fired: counts and rule names only."""
        return {
            "dims": self.dims,
            "cells": self.cells,
            "threshold": self.rules.threshold,
            "rounding": self.rules.rounding,
            "redacted_primary": self.primary,
            "redacted_secondary": self.secondary,
            "rules_fired": [
                name
                for name, n in (
                    ("primary_suppression", self.primary),
                    ("secondary_suppression", self.secondary),
                )
                if n
            ]
            + ["rounding"],
        }


def round_to(value: int, base: int) -> int:
    """Nearest multiple of base, halves up (7.5 -> 10 for base 5)."""
    return ((2 * value + base) // (2 * base)) * base


def cell_hash(dims: list[str], labels: tuple) -> str:
    """A stable key for a cell that names no label (kept in the audit log beside its count)."""
    text = "\x1f".join(f"{d}={'' if v is None else v}" for d, v in zip(dims, labels, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _grid(table: pl.DataFrame, dims: list[str], count: str) -> tuple[list, list, list[list[int]]]:
    """Rows x columns of exact counts (one column when the table has one dimension)."""
    if len(dims) not in (1, 2):
        raise DisclosureError(
            f"a controlled table has one or two grouping columns, not {len(dims)}: group by at "
            "most two (each further grouping multiplies the small cells)"
        )
    grouped = table.group_by(dims).agg(pl.col(count).sum())
    # labels in the order they first appear (the query's ORDER BY), then the totals
    rows = table[dims[0]].unique(maintain_order=True).to_list()
    cols = table[dims[1]].unique(maintain_order=True).to_list() if len(dims) == 2 else [TOTAL]
    at = {(r, c): 0 for r in rows for c in cols}
    for rec in grouped.iter_rows(named=True):
        col = rec[dims[1]] if len(dims) == 2 else TOTAL
        at[(rec[dims[0]], col)] = int(rec[count])
    return rows, cols, [[at[(r, c)] for c in cols] for r in rows]


def control(
    table: pl.DataFrame,
    dims: list[str],
    count: str = "count",
    rules: DisclosureRules = DEFAULT_RULES,
) -> Controlled:
    """Suppress, suppress again where a total would give a redacted cell away, round."""
    if table.height and table[count].min() < 0:  # type: ignore[operator]
        raise DisclosureError("a count table has a negative count: only counts can be controlled")
    rows, cols, grid = _grid(table, dims, count)
    two = len(dims) == 2
    # The full table with margins: cells, then each row's total (two dims), each column's
    # total, and the grand total, as one matrix (n_rows + 1) x (n_cols + 1).
    n_r, n_c = len(rows), len(cols)
    full = [row[:] + ([sum(row)] if two else []) for row in grid]
    full.append(
        [sum(grid[i][j] for i in range(n_r)) for j in range(n_c)] + ([] if not two else [0])
    )
    if two:
        full[n_r][n_c] = sum(full[n_r][:n_c])
    width = n_c + (1 if two else 0)
    hidden = [[1 <= full[i][j] <= rules.threshold for j in range(width)] for i in range(n_r + 1)]
    primary = sum(map(sum, hidden))
    # Lines: every row with its total, every column with its total (the totals row included).
    lines = [[(i, j) for j in range(width)] for i in range(n_r + 1)] if two else []
    lines += [[(i, j) for i in range(n_r + 1)] for j in range(width)]
    secondary = 0
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden[i][j] for i, j in line) != 1:
                continue
            margin = line[-1]
            open_cells = [(i, j) for i, j in line[:-1] if not hidden[i][j] and full[i][j] > 0]
            zeros = [(i, j) for i, j in line[:-1] if not hidden[i][j]]
            pick = min(open_cells or zeros or [margin], key=lambda ij: full[ij[0]][ij[1]])
            if hidden[pick[0]][pick[1]]:
                continue  # a line of one cell and its total, both redacted already
            hidden[pick[0]][pick[1]] = True
            secondary += 1
            changed = True
    while exposed := _exposed(full, hidden, lines, rules):
        extra = _next_to_hide(exposed[0], full, hidden, lines)
        if extra is None:
            break  # every entry of its lines is hidden: nothing published bounds it
        hidden[extra[0]][extra[1]] = True
        secondary += 1
    row_labels = rows + [TOTAL]
    col_labels = cols + ([TOTAL] if two else [])
    out: dict[str, list] = {d: [] for d in dims}
    out[count] = []
    exact = {}
    for i in range(n_r + 1):
        for j in range(width):
            raw = (row_labels[i], col_labels[j]) if two else (row_labels[i],)
            labels = tuple(None if v is None else str(v) for v in raw)
            for d, v in zip(dims, labels, strict=True):
                out[d].append(v)
            value = full[i][j]
            out[count].append(None if hidden[i][j] else round_to(value, rules.rounding))
            exact[cell_hash(dims, labels)] = value
    schema = {d: pl.String for d in dims} | {count: pl.Int64}
    published = pl.DataFrame(out, schema=schema)
    return Controlled(published, dims, count, rules, primary, secondary, n_r * n_c, exact)


def _exposed(full, hidden, lines, rules: DisclosureRules) -> list[tuple[int, int]]:
    """Cells redacted as small whose value an attacker could pin to a range narrower than the
    threshold from what is published (linear programming; published counts +- rounding)."""
    from scipy.optimize import linprog

    cells = [(i, j) for i in range(len(full)) for j in range(len(full[0]))]
    at = {ij: k for k, ij in enumerate(cells)}
    half = rules.rounding // 2
    bounds: list[tuple[float, float | None]] = []
    for i, j in cells:
        if hidden[i][j]:
            bounds.append((0, None))
        else:
            shown = round_to(full[i][j], rules.rounding)
            bounds.append((0, 0) if shown == 0 else (max(0, shown - half), shown + half))
    a_eq = [[0.0] * len(cells) for _ in lines]
    for e, line in enumerate(lines):
        for ij in line[:-1]:
            a_eq[e][at[ij]] = 1.0
        a_eq[e][at[line[-1]]] = -1.0
    b_eq = [0.0] * len(lines)
    out = []
    for ij in cells:
        i, j = ij
        if not (hidden[i][j] and 1 <= full[i][j] <= rules.threshold):
            continue
        c = [0.0] * len(cells)
        c[at[ij]] = 1.0
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog([-x for x in c], A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if high.status == 3:  # unbounded above: nothing pins it
            continue
        if -high.fun - low.fun < rules.threshold:
            out.append(ij)
    return out


def _next_to_hide(cell, full, hidden, lines) -> tuple[int, int] | None:
    """The smallest published entry (cell or total) in the lines through `cell`; when those
    are all hidden, in any line that holds a hidden entry (the cell is pinned through others)."""

    def shown_in(chosen) -> list[tuple[int, int]]:
        return [ij for line in chosen for ij in line if not hidden[ij[0]][ij[1]]]

    candidates = shown_in([ln for ln in lines if cell in ln]) or shown_in(
        [ln for ln in lines if any(hidden[i][j] for i, j in ln)]
    )
    return min(candidates, key=lambda ij: (full[ij[0]][ij[1]], ij)) if candidates else None


def differencing(
    current: Controlled, previous: dict[str, int] | None, rules: DisclosureRules | None = None
) -> int:
    """How many cells published in `current` changed, against the last publication's exact
    counts, by 1..threshold people: each is a small group shown by subtraction."""
    if not previous:
        return 0
    rules = rules or current.rules
    published = {
        cell_hash(current.dims, tuple(rec[d] for d in current.dims))
        for rec in current.published.iter_rows(named=True)
        if rec[current.count] is not None
    }
    return sum(
        1
        for key, value in current.exact.items()
        if key in published
        and key in previous
        and 1 <= abs(value - previous[key]) <= rules.threshold
    )


def require_no_differencing(current: Controlled, previous: dict[str, int] | None) -> None:
    found = differencing(current, previous)
    if found:
        raise DisclosureError(
            f"refused: against the last publication of this table, {found} published cell(s) "
            f"changed by 1 to {current.rules.threshold} people, which subtraction would show. "
            "Publish with coarser groups, or wait until the change is larger"
        )
