"""How every report is written: number formatting, HTML pieces, the self-contained page and the PDF.

Shared by the batch report (:mod:`analysis.report`), the sweep report (:mod:`analysis.sweep_report`) and the
validation outputs; it computes nothing about the data.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import report_figures as rf
from analysis.mpl_text import plain
from sim.runs.store import temporary_path


@dataclass
class Rendered:
    """A figure drawn into the PDF and kept as PNG bytes for the HTML."""

    key: str
    title: str
    caption: str
    png: bytes


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
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def p_text(p: float) -> str:
    """'p = 0.012' or 'p < 0.001' for sentences."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_ci(lo: float, hi: float) -> str:
    return "–" if not (np.isfinite(lo) or np.isinf(lo)) or np.isnan(hi) else f"[{fmt(lo)}, {fmt(hi)}]"


def fmt_pct(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:+.1f} %"


def fmt_pct_ci(lo: float, hi: float) -> str:
    return "–" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:+.1f}, {hi:+.1f}] %"


def esc(text: object) -> str:
    return html.escape(str(text))


def table_html(frame: pd.DataFrame) -> str:
    """A DataFrame of already-formatted cells as an HTML table."""
    if frame.empty:
        return "<p><em>(empty)</em></p>"
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(fmt(v) if not isinstance(v, str) else v)}</td>" for v in row)
                   + "</tr>" for row in frame.itertuples(index=False))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


CSS = """
.thumbs{display:flex;gap:6px}.thumbs img{width:24%;border:1px solid #ddd}
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.scroll{overflow-x:auto}
figure{margin:1.2em 0;page-break-inside:avoid}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:.3em}.warn{background:#fff4e5;border-left:4px solid #e67e22;
padding:.5em 1em}.key{background:#eef6fb;border-left:4px solid #2e86c1;padding:.5em 1em}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.8em}details{margin:.4em 0}
summary{cursor:pointer;font-weight:600}.meta td{text-align:left}nav a{margin-right:1em}
"""


def header_html(manifest: dict, title: str, rows: list[tuple[str, object]], sections: list[tuple[str, str]]) -> str:
    """The title, description, a table of ``rows`` (label, value) and a link bar to ``sections`` (id, label)."""
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    nav = "<nav>" + "".join(f'<a href="#{anchor}">{esc(label)}</a>' for anchor, label in sections) + "</nav>"
    return f'<h1>{esc(title)}</h1><p>{esc(description(manifest))}</p><table class="meta">{meta}</table>{nav}'


def run_rows(manifest: dict, finished: int) -> list[tuple[str, object]]:
    """Header rows every report shares: runs finished, times, code commit, master seed."""
    m = manifest
    return [("runs", f"{finished} finished of {len(m['runs'])} planned"),
            ("started / finished (UTC)", f"{m.get('started_utc')} / {m.get('finished_utc') or 'not finished'}"),
            ("code commit", m.get("git_commit") or "unknown"), ("master seed", m.get("master_seed"))]


def description(manifest: dict) -> str:
    try:
        return str(tomllib.loads(manifest.get("experiment_text") or "").get("description", ""))
    except tomllib.TOMLDecodeError:
        return ""


def figures_html(figures: list[Rendered]) -> str:
    parts = ['<h2 id="figures">Figures</h2>']
    for i, f in enumerate(figures, 1):
        data = base64.b64encode(f.png).decode("ascii")
        parts.append(f'<figure id="{esc(f.key)}"><h3>Figure {i}. {esc(f.title)}</h3>'
                     f'<img src="data:image/png;base64,{data}" alt="{esc(f.title)}">'
                     f"<figcaption>{esc(f.caption)}</figcaption></figure>")
    return "".join(parts)


def manifest_for_report(manifest: dict) -> dict:
    """The manifest with the scenario files' full texts replaced by their length (the merged values stay)."""
    out = dict(manifest)
    files = manifest.get("scenario_files") or {}
    out["scenario_files"] = {p: f"({len(t)} characters; the merged values are under 'scenarios')"
                             for p, t in files.items()} if isinstance(files, dict) else files
    return out


def warnings_html(warnings: list[str]) -> str:
    return ("<div class='warn'><strong>Warnings</strong><ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings)
            + "</ul></div>") if warnings else ""


def manifest_html(manifest: dict) -> str:
    text = json.dumps(manifest_for_report(manifest), indent=2, default=str)
    return f'<h2 id="manifest">Manifest</h2><details><summary>manifest.json</summary><pre>{esc(text)}</pre></details>'


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML page with the report style."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f"<body>{body}</body></html>\n")


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

