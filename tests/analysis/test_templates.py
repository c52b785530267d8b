"""The reports' markup lives in analysis/templates: every template is used, the package ships them, no module of
analysis/ writes HTML itself, and whatever a report shows (labels, descriptions, warnings, figure titles) is
escaped."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from helpers import ROOT, TINY_SWEEP
from jinja2 import meta

from analysis.report_render import TEMPLATES, Rendered, render, table
from analysis.sensitivity import analyse
from analysis.sweep_report import render_html
from sim.runs.sweep import load_sweep

TEMPLATE_DIR = ROOT / "analysis" / "templates"
HOSTILE = '<script>alert("x")</script>'
#: HTML elements the reports use; one of them written as a tag in a module of analysis/ is markup outside the
#: templates (path placeholders such as OUT/<hash>/ and format specs such as {x:<4} are not tags)
TAGS = ("html", "head", "body", "style", "meta", "title", "h1", "h2", "h3", "h4", "p", "div", "section", "nav",
        "a", "table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "details", "summary", "figure",
        "figcaption", "img", "pre", "code", "strong", "em", "br", "span")
TAG = re.compile(r"<!DOCTYPE|</?(?:" + "|".join(TAGS) + r")(?:\s[^<>]*)?/?>", re.IGNORECASE)
RENDER_CALL = re.compile(r"""\brender\(\s*["']([^"']+)["']""")


def referenced(name: str) -> set[str]:
    """The templates ``name`` extends, includes or imports."""
    source = TEMPLATES.loader.get_source(TEMPLATES, name)[0]
    return {n for n in meta.find_referenced_templates(TEMPLATES.parse(source)) if n}


def test_every_template_is_used():
    """Each file of analysis/templates is rendered by a module of analysis/ or reached from one that is."""
    files = {p.name for p in TEMPLATE_DIR.iterdir() if p.is_file()}
    roots = {name for path in (ROOT / "analysis").glob("*.py")
             for name in RENDER_CALL.findall(path.read_text(encoding="utf-8"))}
    assert {"batch_report.html", "sweep_report.html"} <= roots
    reached, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += referenced(name)
    assert reached <= files, f"templates used but missing: {sorted(reached - files)}"
    assert files == reached, f"templates never used: {sorted(files - reached)}"


def test_no_module_of_analysis_writes_html():
    """The markup is in the templates: no module of analysis/ holds an HTML tag (figures' text is not HTML)."""
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "analysis").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if TAG.search(line)]
    assert not found, "HTML outside analysis/templates:\n" + "\n".join(found)
    assert TAG.search('<div class="scroll"><table>') and TAG.search("<h2 id='x'>") and TAG.search("</details>")
    assert not TAG.search("OUT/<hash>/ and f'{r.id:<4}' and x <a_bound")


def test_templates_are_package_data_and_jinja2_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/*" in project["tool"]["setuptools"]["package-data"]["analysis"]
    assert any(re.match(r"jinja2\b", d, re.IGNORECASE) for d in project["project"]["dependencies"])


def test_table_cells_are_formatted_in_python():
    t = table(pd.DataFrame({"readout": ["a", "b"], "mean": [1234.5678, np.nan], "n": [3, 4]}))
    assert t.columns == ["readout", "mean", "n"] and t.rows == [["a", "1235", "3"], ["b", "–", "4"]]
    assert table(pd.DataFrame({"readout": []})).rows == []


def test_the_summary_escapes_labels_and_links_its_thumbnails():
    figure = Rendered(HOSTILE, HOSTILE, "caption", b"\x89PNG")
    page = render("summary.html", summary={
        "design": HOSTILE, "reference_label": HOSTILE, "readout_name": HOSTILE, "sentences": [HOSTILE],
        "baselines": table(pd.DataFrame({HOSTILE: [HOSTILE], "normal": ["1 ± 0.1"]})), "contrasts": None,
        "thumbnails": [figure]})
    assert "<script" not in page and html.unescape(page).count(HOSTILE) == 9
    assert page.count('<img src="data:image/png;base64,iVBORw==" ') == 1 and "No contrasts." in page
    assert '<section class="summary"><h2 id="summary">Summary</h2>' in page and page.rstrip().endswith("</section>")


def hostile_sweep(tmp_path: Path):
    """The analysis of the tiny Ishigami grid with synthetic outputs, its scenario named ``HOSTILE``, its
    experiment's description ``HOSTILE`` and a warning ``HOSTILE``."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SWEEP, encoding="utf-8")
    sweep = load_sweep(path)
    runs = [{**r.as_dict(), "scenario": HOSTILE} for r in sweep.runs()]
    manifest = {"name": sweep.name, "runs": runs, **sweep.manifest_extra(), "finished_utc": "2025-01-01T00:00:00",
                "experiment_text": f"description = '{HOSTILE}'"}
    rows = [{**r, "status": "ok", **r["levels"], "y": r["levels"]["x1"] + 2 * r["levels"]["x2"]} for r in runs]
    a = analyse(tmp_path, manifest, pd.DataFrame(rows))
    a.warnings.append(HOSTILE)
    return a


def test_a_report_page_escapes_every_value_it_shows(tmp_path):
    """Title, description, warning, scenario label (key results, index and response tables), figure key, title and
    caption, manifest: all shown as text, none as markup; the page keeps its anchors and embedded PNG."""
    page = render_html(hostile_sweep(tmp_path), HOSTILE, [Rendered(HOSTILE, HOSTILE, HOSTILE, b"\x89PNG")])
    assert "<script" not in page.lower()
    text = html.unescape(page)
    for shown in (f"<title>{HOSTILE}</title>", f"<p>{HOSTILE}</p>", f"<li>{HOSTILE}</li>", f"<li>{HOSTILE}, y",
                  f"<summary>{HOSTILE}: ishigami:y</summary>", f"<td>{HOSTILE}</td>", f"<figure id=\"{HOSTILE}\">",
                  f"Figure 1. {HOSTILE}</h3>", f"<figcaption>{HOSTILE}</figcaption>"):
        assert shown in text, shown
    for anchor in ("key", "figures", "sensitivity", "methods", "manifest"):
        assert f'<h2 id="{anchor}">' in page and f'<a href="#{anchor}">' in page
    assert page.startswith("<!DOCTYPE html>") and '<img src="data:image/png;base64,iVBORw==" alt="' in page
