"""How every report is written: number formatting, the values the HTML templates show, the page and the PDF.

Shared by the batch report (:mod:`analysis.report`), the sweep report (:mod:`analysis.sweep_report`) and the
validation outputs; it computes nothing about the data. The markup is in the Jinja2 templates of
``analysis/templates`` (``page.html`` with the inline ``report.css``, ``macros.html``, one template per report);
:func:`render` fills one with values already formatted here, escaping every value.
"""

from __future__ import annotations

import base64
import json
import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis import report_figures as rf
from analysis.mpl_text import plain
from sim.runs.store import temporary_path

if TYPE_CHECKING:
    from analysis.methods import Section


@dataclass
class Rendered:
    """A figure drawn into the PDF and kept as PNG bytes for the HTML."""

    key: str
    title: str
    caption: str
    png: bytes

    @property
    def png_base64(self) -> str:
        """The PNG as base64 text, for a ``data:image/png`` address in the page."""
        return base64.b64encode(self.png).decode("ascii")


#: the report templates, loaded once; every value is escaped, a missing value is an error
TEMPLATES = Environment(loader=PackageLoader("analysis", "templates"), autoescape=True, undefined=StrictUndefined,
                        trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: object) -> str:
    """The text of ``template`` (a file name in analysis/templates) filled with ``context``."""
    return TEMPLATES.get_template(template).render(**context)


def fmt(x: object, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, scientific when very large or small, '–' for NaN."""
    if not isinstance(x, (int, float, np.integer, np.floating)) or isinstance(x, bool):
        return "" if x is None else str(x)
    x = float(x)
    if np.isnan(x):
        return "–"
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def fmt_p(p: float) -> str:
    """A p-value to 3 decimals, '< 0.001' below that, '–' when not finite."""
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def p_text(p: float) -> str:
    """'p = 0.012' or 'p < 0.001' for sentences."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_ci(lo: float, hi: float) -> str:
    """A confidence interval '[lo, hi]' in the value's own unit (each bound by :func:`fmt`), '–' when undefined."""
    return "–" if not (np.isfinite(lo) or np.isinf(lo)) or np.isnan(hi) else f"[{fmt(lo)}, {fmt(hi)}]"


def fmt_pct(x: float) -> str:
    """A percent change with its sign and one decimal ('+12.3 %'), '–' when not finite."""
    return "–" if not np.isfinite(x) else f"{x:+.1f} %"


def fmt_pct_ci(lo: float, hi: float) -> str:
    """A confidence interval of a percent change ('[+1.0, +20.5] %'), '–' when a bound is not finite."""
    return "–" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:+.1f}, {hi:+.1f}] %"


@dataclass(frozen=True)
class Table:
    """A table's header and rows as text, for the ``table`` macro; no rows when the frame was empty."""

    columns: list[str]
    rows: list[list[str]]


def cell(value: object) -> str:
    """A table cell's text: numbers by :func:`fmt`, text as it is."""
    return value if isinstance(value, str) else fmt(value)


def table(frame: pd.DataFrame) -> Table:
    """A DataFrame of already-formatted cells (numbers are formatted by :func:`fmt`) as a :class:`Table`."""
    rows = [] if frame.empty else [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    return Table([str(c) for c in frame.columns], rows)


@dataclass(frozen=True)
class Header:
    """The top of a report: title, description, (label, value) rows and the (id, label) links to its sections."""

    title: str
    description: str
    rows: list[tuple[str, str]]
    sections: list[tuple[str, str]]


def header(manifest: dict, title: str, rows: list[tuple[str, object]], sections: list[tuple[str, str]]) -> Header:
    """The title, the experiment's description, a table of ``rows`` (label, value) and links to ``sections``."""
    return Header(title, description(manifest), [(label, str(value)) for label, value in rows], sections)


@dataclass(frozen=True)
class TextSection:
    """A titled section of paragraphs with an optional table (the methods), for the ``methods`` macro."""

    title: str
    paragraphs: list[str]
    table: Table | None = None


def text_sections(sections: Iterable[Section]) -> list[TextSection]:
    """The methods' sections with their tables (DataFrames of already-formatted cells, or None) formatted."""
    return [TextSection(s.title, list(s.paragraphs), None if s.table is None else table(s.table)) for s in sections]


def run_rows(manifest: dict, finished: int) -> list[tuple[str, object]]:
    """Header rows every report shares: runs finished, times, code commit, master seed."""
    m = manifest
    return [("runs", f"{finished} finished of {len(m['runs'])} planned"),
            ("started / finished (UTC)", f"{m.get('started_utc')} / {m.get('finished_utc') or 'not finished'}"),
            ("code commit", m.get("git_commit") or "unknown"), ("master seed", m.get("master_seed"))]


def description(manifest: dict) -> str:
    """The experiment file's ``description`` ('' when it has none or does not parse)."""
    try:
        return str(tomllib.loads(manifest.get("experiment_text") or "").get("description", ""))
    except tomllib.TOMLDecodeError:
        return ""


def manifest_for_report(manifest: dict) -> dict:
    """The manifest with the scenario files' full texts replaced by their length (the merged values stay)."""
    out = dict(manifest)
    files = manifest.get("scenario_files") or {}
    out["scenario_files"] = {p: f"({len(t)} characters; the merged values are under 'scenarios')"
                             for p, t in files.items()} if isinstance(files, dict) else files
    return out


def manifest_text(manifest: dict) -> str:
    """The manifest as the report shows it: indented JSON of :func:`manifest_for_report`."""
    return json.dumps(manifest_for_report(manifest), indent=2, default=str)


TitleLine = tuple[str, int, str]   # text, font size, weight


def title_page(lines: list[TitleLine]):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11, 6.2))
    for i, (text, size, weight) in enumerate(lines):
        fig.text(0.06, 0.85 - 0.085 * i, plain(text), fontsize=size, fontweight=weight, va="top", wrap=True)
    return fig


def write_pdf(path: Path, title: str, lines: list[TitleLine],
              figures: list[Callable[[], rf.ReportFigure]]) -> list[Rendered]:
    """A title page and one page per figure; returns the figures as PNG for the HTML (each closed once drawn)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    tmp = temporary_path(path)
    meta = {"Title": title, "Creator": "vesicle-sim analysis.report", "CreationDate": None}
    rendered = []
    try:
        with PdfPages(tmp, metadata=meta) as pdf:
            first = title_page(lines)
            pdf.savefig(first)
            plt.close(first)
            for draw in figures:
                f = draw()
                try:
                    rendered.append(Rendered(f.key, f.title, f.caption, f.png()))
                    pdf.savefig(f.fig)
                finally:
                    plt.close(f.fig)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return rendered

