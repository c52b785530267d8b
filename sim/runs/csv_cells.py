"""CSV cells that a spreadsheet would run as formulas, quoted (CSV injection).

Condition, scenario and experiment names are the user's text and end up in
CSV tables. A spreadsheet treats a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula; following the OWASP guidance on
CSV injection, such a text cell is written with a leading single quote
(``'=1+1``), which shows the text as typed. Only text cells are touched:
numbers (negative ones too) stay numbers, and parquet files keep the exact text.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def defuse(value: object) -> object:
    """``value`` with a leading ``'`` if it is text that starts like a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the formula-like cells of its text columns quoted (a copy if any cell changes)."""
    columns = [i for i in range(frame.shape[1]) if _is_text(frame.iloc[:, i])]
    changed = {i: frame.iloc[:, i].map(defuse) for i in columns}
    changed = {i: col for i, col in changed.items() if not col.equals(frame.iloc[:, i])}
    if not changed:
        return frame
    out = frame.copy()
    for i, column in changed.items():
        out.isetitem(i, column)
    return out
