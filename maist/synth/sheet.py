"""ETL9G's sheets: 50 cells a sheet, 10 a row, the characters in JIS code order.

    cell(j)                    (column, row) of the j-th character a writer wrote
    sheet_neighbours(chars)    for each character, its neighbours' characters by side

A writer's ink reaches out of its box into the neighbouring ones, so a field's stray
pieces come from the characters written beside it on the sheet, not from any character.
"""

from __future__ import annotations

from functools import lru_cache

from ..data.classes import char_to_jis

COLUMNS = 10  # cells in a row of a sheet
CELLS = 50  # cells on a sheet: 5 rows of 10
SIDES = ("left", "right", "above", "below")


def cell(j: int) -> tuple[int, int]:
    """The j-th character's (column, row) on its sheet."""
    return j % COLUMNS, (j % CELLS) // COLUMNS


def sheet_order(chars: tuple[str, ...]) -> list[int]:
    """Indices into `chars` in the order a writer wrote them: JIS code order."""
    return sorted(range(len(chars)), key=lambda i: char_to_jis(chars[i]))


@lru_cache(maxsize=16)  # one class set a writer, 71 fields or more each
def sheet_neighbours(chars: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """{character: {side: the character in the cell on that side}}, for the sides that
    have a cell on the same sheet."""
    order = [chars[i] for i in sheet_order(chars)]
    out: dict[str, dict[str, str]] = {}
    for j, ch in enumerate(order):
        col, row = cell(j)
        near = {"left": j - 1 if col > 0 else None,
                "right": j + 1 if col < COLUMNS - 1 else None,
                "above": j - COLUMNS if row > 0 else None,
                "below": j + COLUMNS if row < CELLS // COLUMNS - 1 else None}
        out[ch] = {side: order[k] for side, k in near.items() if k is not None and k < len(order)}
    return out
