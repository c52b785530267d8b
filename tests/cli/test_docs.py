"""The documentation in docs/ covers the code: every scenario key, every output column, and it is not stale.

Also checks that the links between the pages resolve, that the stimulus keys
each kind accepts are the ones the page lists, and that the pulse rows and the
evoked-release summary of a real run follow docs/outputs.md.

Also checks the rule of docs/science.md that every value in scenarios/ names its
source or says "assumption", and that the repository cites only documents it contains.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs"

#: source names of docs/science.md (authors, "binding studies", "microdialysis") and "assumption"
SOURCES = (
    "Lazarevic", "Schikorski", "Rizzoli", "Harris", "Wesseling", "Tsodyks", "NEST", "Pyle", "Watanabe",
    "Chanaday", "Riveros", "Clements", "Herman", "microdialysis", "Cechova", "Hargus", "Yoon", "Zanos",
    "binding studies", "Blacker", "Popoli", "Duman", "Hua", "Homayoun", "assumption",
)
#: top-level keys that are names and run control, not parameters
EXEMPT_TOP_LEVEL = ("name", "description", "extends", "seed")


def _generator(name: str = "make_scenario_keys"):
    """A script of docs/, imported as a module."""
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _generator()


@pytest.fixture(scope="module")
def params():
    return importlib.import_module("sim.model.params")


def _section(text: str, heading: str) -> str:
    """The text of a Markdown section from ``heading`` to the next heading of the same or a higher level."""
    start = text.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    nxt = re.search(rf"^#{{1,{level}}} ", text[start + len(heading):], flags=re.MULTILINE)
    return text[start:start + len(heading) + nxt.start()] if nxt else text[start:]


# --------------------------------------------------------------------------- (a) every key documented


def test_every_scenario_key_is_documented(params):
    text = (DOCS / "scenario_keys.md").read_text(encoding="utf-8")
    missing = [key for key, _ in params.schema_fields(params.Scenario) if f"`{key}`" not in text]
    stimuli = _section(text, "### `[[protocol.stimuli]]`")
    missing += [f"protocol.stimuli.N.{key}" for key, _ in params.schema_fields(params.StimulusParams)
                if f"| `{key}` |" not in stimuli]
    conditions = _section(text, "### `[conditions.NAME]`")
    missing += [f"conditions.NAME.{key}" for key, _ in params.schema_fields(params.ConditionParams)
                if f"| `{key}` |" not in conditions]
    assert not missing, f"keys missing from docs/scenario_keys.md: {', '.join(missing)}"


def test_every_key_has_unit_and_description(params):
    """The schema itself carries what the page shows: a unit and a description on every leaf field."""
    bad = []
    for cls in (params.Scenario, params.StimulusParams, params.ConditionParams):
        for key, f in params.schema_fields(cls):
            if key in ("name", "seed", "conditions", "description"):
                continue
            if "unit" not in f.metadata or not f.metadata.get("doc"):
                bad.append(f"{cls.__name__}.{key}")
    assert not bad, f"fields without unit/doc metadata: {', '.join(bad)}"


def _cells(row: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` inside a cell is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_stimulus_keys_per_kind_are_documented_and_enforced(params, generator):
    """The "applies to" column of each stimulus key is sim.model.params.STIMULUS_KEYS, and other keys are refused."""
    scenario = importlib.import_module("sim.model.scenario")
    text = _section((DOCS / "scenario_keys.md").read_text(encoding="utf-8"), "### `[[protocol.stimuli]]`")
    rows = {_cells(line)[0].strip("`"): _cells(line) for line in text.splitlines() if line.startswith("| `")}
    wrong = []
    for f in dataclasses.fields(params.StimulusParams):
        applies = rows[f.name][5]
        kinds = applies.split(" (")[0].split(", ")
        value = generator._toml_repr(f.default)
        for kind in params.STIMULUS_KINDS:
            accepted = f.name in ("kind", "start_s") or f.name in params.STIMULUS_KEYS[kind]
            documented = applies == "all" or kind in kinds
            stimulus = f'{{kind="{kind}"}}' if f.name == "kind" else f'{{kind="{kind}", {f.name}={value}}}'
            try:
                scenario.load_scenario(ROOT / "scenarios" / "normal.toml", [f"protocol.stimuli=[{stimulus}]"])
                refused = False
            except params.ScenarioError as err:
                refused = "does not apply to kind" in str(err)
            if not documented == accepted == (not refused):
                wrong.append(f"{f.name} with kind {kind}: documented {documented}, accepted {not refused}")
    assert not wrong, "stimulus keys per kind: " + "; ".join(wrong)


# --------------------------------------------------------------------------- (b) not stale


def test_scenario_keys_page_is_up_to_date(generator):
    current = (DOCS / "scenario_keys.md").read_text(encoding="utf-8")
    assert current == generator.render(), "docs/scenario_keys.md is stale: run python docs/make_scenario_keys.py"


# --------------------------------------------------------------------------- (c) every value has a source


def scenario_files() -> list[Path]:
    return (sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "scenarios" / "checks").glob("*.toml"))
            + sorted((ROOT / "scenarios" / "calibration").glob("*.toml")))


def has_source(comment: str | None) -> bool:
    return bool(comment) and any(name.lower() in comment.lower() for name in SOURCES)


def unsourced_lines(path: Path, generator) -> list[str]:
    """``key = value`` lines whose comment names no source of docs/science.md and does not say "assumption".

    Exempt, and only these:
    - the top-level keys ``name``, ``description``, ``extends`` and ``seed`` (names and run control);
    - keys of ``[[protocol.stimuli]]`` tables (protocol choices describing the experiment, not biology);
    - a line in a ``[conditions.*]`` table that repeats, key and value, a line of another
      ``[conditions.*]`` table of the same file whose comment names a source (e.g. ``ketamine_uM = 10.0``
      in ``[conditions.ketamine_10uM_dpcpx]`` after a sourced ``[conditions.ketamine_10uM]``).
    """
    lines = generator.toml_lines(path)
    sourced_conditions = {(ln.key, ln.value) for ln in lines
                          if ln.table.startswith("conditions.") and has_source(ln.comment)}
    bad = []
    for ln in lines:
        if not ln.table and ln.key in EXEMPT_TOP_LEVEL:
            continue
        if ln.array_table and ln.table.startswith("protocol.stimuli."):
            continue
        if has_source(ln.comment):
            continue
        if ln.table.startswith("conditions.") and (ln.key, ln.value) in sourced_conditions:
            continue
        bad.append(f"{path.relative_to(ROOT)}:{ln.lineno}: [{ln.table}] {ln.text.strip()}")
    return bad


def test_scenario_comment_parser(generator):
    assert generator.split_comment(' 0.5   # Harris 2012') == ("0.5", "Harris 2012")
    assert generator.split_comment(' "a # b"  # c') == ('"a # b"', "c")
    assert generator.split_comment(" 10.0") == ("10.0", None)


def test_every_scenario_value_names_its_source(generator):
    files = scenario_files()
    assert any(p.name == "normal.toml" for p in files)
    bad = [line for path in files for line in unsourced_lines(path, generator)]
    assert not bad, ("scenario values without a source of docs/science.md or the word 'assumption' in their comment:\n"
                     + "\n".join(bad))


# --------------------------------------------------------------------------- (d) every output documented


#: warm-up of the short run (s)
SHORT_RUN_WARMUP_S = 0.1


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    """A real `run.py simulate` of 0.3 s with 100 neurons and one stimulus of each kind.

    The paired pulse (0.15 s and 0.2 s) and the train (0.2, 0.22, 0.24 s) share the step at 0.2 s,
    which must give one pulse row naming the paired pulse (stimulus 1, listed first).
    """
    run = importlib.import_module("run")
    out = tmp_path_factory.mktemp("docs_run") / "out"
    stimuli = ('[{kind="fm_dye", start_s=0.05, duration_s=0.1}, {kind="paired_pulse", start_s=0.15}, '
               '{kind="train", start_s=0.2, rate_hz=50.0, n_pulses=3}, {kind="high_k", start_s=0.25, duration_s=0.03}]')
    code = run.main([
        "simulate", str(ROOT / "scenarios" / "normal.toml"), "--condition", "ketamine_10uM", "--quiet",
        "--out", str(out),
        "--set", "network.n_neurons=100", "--set", "network.excitatory_in_degree=8",
        "--set", "network.inhibitory_in_degree=2", "--set", "protocol.duration_s=0.3",
        "--set", f"protocol.warmup_s={SHORT_RUN_WARMUP_S}", "--set", f"protocol.stimuli={stimuli}",
    ])
    assert code == 0
    return out


def _undocumented(names, text: str) -> list[str]:
    return [name for name in names if f"`{name}`" not in text]


def test_every_output_is_documented(short_run):
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in short_run.iterdir())
    assert "pulses.parquet" in files
    missing = {"files": _undocumented(files, text)}
    manifest = json.loads((short_run / "manifest.json").read_text(encoding="utf-8"))
    missing["manifest.json"] = _undocumented(list(manifest) + list(manifest["versions"]), text)
    ts = pd.read_parquet(short_run / "timeseries.parquet")
    missing["timeseries.parquet"] = _undocumented(ts.columns, _section(text, "## `timeseries.parquet`"))
    pulses = pd.read_parquet(short_run / "pulses.parquet")
    missing["pulses.parquet"] = _undocumented(pulses.columns, _section(text, "## `pulses.parquet`"))
    summary_text = _section(text, "## `summary.csv` / `summary.parquet`")
    for name in ("summary.csv", "summary.parquet"):
        frame = pd.read_csv(short_run / name) if name.endswith(".csv") else pd.read_parquet(short_run / name)
        assert len(frame) == 1
        missing[name] = _undocumented(frame.columns, summary_text)
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"undocumented in docs/outputs.md: {missing}"


def test_summary_column_list_matches_the_run(short_run):
    """The ordered list of summary columns in docs/outputs.md is the run's."""
    text = _section((DOCS / "outputs.md").read_text(encoding="utf-8"), "## `summary.csv` / `summary.parquet`")
    listed = text[text.index("So the summary columns are"):]
    listed = listed[:listed.index("\n\n")]
    names = re.findall(r"`([A-Za-z0-9_]+)`", listed)
    assert names == list(pd.read_csv(short_run / "summary.csv").columns)


def test_pulse_rows_and_evoked_summary_follow_the_docs(short_run):
    """One pulse row per stimulated step, and the evoked summary columns as defined in docs/outputs.md."""
    pulses = pd.read_parquet(short_run / "pulses.parquet")
    summary = pd.read_parquet(short_run / "summary.parquet").iloc[0]
    assert list(pulses["pulse"]) == list(range(len(pulses)))
    assert pulses["time_s"].is_monotonic_increasing and pulses["time_s"].is_unique
    assert set(pulses["kind"]) <= {"train", "paired_pulse"}
    assert len(pulses) == 4  # 2 paired pulses + 3 train pulses, one step shared
    shared = pulses[np.isclose(pulses["time_s"], 0.2)]
    assert (len(shared), shared["stimulus"].item(), shared["kind"].item()) == (1, 1, "paired_pulse")
    after = pulses[pulses["time_s"] > SHORT_RUN_WARMUP_S]
    for t in ("glu", "gaba"):
        hit = after[after[f"n_stimulated_{t}"] > 0]
        evoked = (hit[f"released_{t}"] / hit[f"n_stimulated_{t}"]).mean() if len(hit) else np.nan
        pairs = [rows[f"released_{t}"].tolist()
                 for _, rows in hit[hit["kind"] == "paired_pulse"].groupby("stimulus") if len(rows) == 2]
        first = sum(p[0] for p in pairs)
        ratio = sum(p[1] for p in pairs) / first if first > 0 else np.nan
        assert np.isclose(summary[f"evoked_release_{t}_per_pulse"], evoked, rtol=1e-12, equal_nan=True), t
        assert np.isclose(summary[f"paired_pulse_ratio_{t}"], ratio, rtol=1e-12, equal_nan=True), t
    assert not np.isnan(summary["paired_pulse_ratio_glu"])  # the paired pulse qualifies for glutamatergic cells


# --------------------------------------------------------------------------- (e) links between the pages


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (outside code blocks), plus explicit <a id="..."> anchors."""
    anchors, seen, fenced = set(), {}, False
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors | set(re.findall(r'<a id="([^"]+)">', text))


def test_links_between_pages_resolve():
    bad = []
    for page in sorted(DOCS.glob("*.md")):
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (DOCS / file) if file else page
            if not linked.is_file():
                bad.append(f"{page.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                bad.append(f"{page.name}: {target} (no such heading)")
    assert not bad, "broken links in docs/: " + "; ".join(bad)


# --------------------------------------------------------------------------- (f) only documents of the repository


#: tracked files of these kinds are searched (.html and .jinja/.j2 for templates)
TEXT_SUFFIXES = (".py", ".toml", ".md", ".txt", ".html", ".htm", ".jinja", ".j2")
#: names of notes that are not part of the repository (written so that this file does not name them)
OUTSIDE_DOCUMENTS = re.compile(r"\b(?:SCIENCE|DESIGN)\.md\b")
#: a path docs/<name>.md anywhere in a text (Markdown links, comments, docstrings)
DOCS_PAGE = re.compile(r"(?<![\w/.-])docs/([\w.-]+\.md)\b")
#: the target of a Markdown link
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_text_files() -> list[str]:
    """Text files git tracks, and new files not yet added (but not ignored ones), relative to the root."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git work tree: the tracked files are unknown")
    return sorted(name for name in out.splitlines()
                  if name.endswith(TEXT_SUFFIXES) and (ROOT / name).is_file())


def test_only_documents_of_the_repository_are_cited():
    """No tracked text file names the outside notes, or a docs/ page that does not exist."""
    bad = []
    for name in tracked_text_files():
        path = ROOT / name
        text = path.read_text(encoding="utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in OUTSIDE_DOCUMENTS.finditer(line):
                bad.append(f"{name}:{lineno}: names {m.group(0)}, which is not in the repository")
            for m in DOCS_PAGE.finditer(line):
                if not (DOCS / m.group(1)).is_file():
                    bad.append(f"{name}:{lineno}: docs/{m.group(1)} does not exist")
            if path.suffix == ".md":
                for target in MD_LINK.findall(line):
                    file = target.partition("#")[0]
                    if not file.endswith(".md") or re.match(r"[a-z]+:", file):
                        continue
                    linked = (path.parent / file).resolve()
                    if linked.parent == DOCS.resolve() and not linked.is_file():
                        bad.append(f"{name}:{lineno}: links {target}, which does not exist")
    assert not bad, "citations of documents outside the repository:\n" + "\n".join(bad)


def test_the_citation_check_finds_what_it_should():
    assert OUTSIDE_DOCUMENTS.search("see " + "SCIENCE" + ".md section 4")
    assert OUTSIDE_DOCUMENTS.search("(" + "DESIGN" + ".md default)")
    assert not OUTSIDE_DOCUMENTS.search("DESIGNS = ('grid',)") and not OUTSIDE_DOCUMENTS.search("docs/science.md")
    missing = "docs/" + "none.md"  # split, so that this file does not link a missing page itself
    assert DOCS_PAGE.findall(f"see docs/model.md#drugs and [x]({missing})") == ["model.md", "none.md"]
    assert DOCS_PAGE.findall("ROOT / 'docs' / 'x.md', mydocs/y.md") == []


# --------------------------------------------------------------------------- wall times come from one script

#: a wall time stated by hand: "49 s with 2 workers", "3 min 11 s on 2 idle cores", "~10 s on 2 cores"
HAND_TIMING = re.compile(r"\d+ ?(s|min|minutes|seconds)( \d+ s)?,? (on|with) \d+ (idle )?(cores|workers)")


def test_stated_wall_times_agree_with_the_measured_ones():
    timings = _generator("make_timings")
    seconds = timings.read_timings()["seconds"]
    stale = [str(p.relative_to(ROOT)) for p, text in timings.expected_files(seconds).items()
             if p.read_text(encoding="utf-8") != text]
    assert stale == [], "stale timings: run python docs/make_timings.py --write"
    stated = {m["job"] for p in timings.MARKDOWN for m in timings.MARKER.finditer(p.read_text(encoding="utf-8"))}
    stated |= {job.name for job in timings.JOBS if job.scenario_files}
    assert stated == set(seconds) == set(timings.BY_NAME), "every job measured and stated, every statement measured"


def test_no_wall_time_is_stated_by_hand():
    timings = _generator("make_timings")
    files = [*timings.MARKDOWN, *sorted((ROOT / "scenarios").rglob("*.toml"))]
    found = []
    for path in files:
        text = timings.MARKER.sub("", path.read_text(encoding="utf-8"))
        text = text.replace("`estimate: 0.7 GB, ~5 min on 2 workers (512 runs)`", "")  # the estimator's output
        lines = [line for line in text.splitlines() if not line.startswith(timings.WALL_LINE)]
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in HAND_TIMING.finditer(" ".join(lines))]
    assert found == []


def test_timing_markers_are_rewritten_and_unknown_jobs_refused():
    timings = _generator("make_timings")
    text = "runs take <!-- t:smoke_sweep -->old<!-- /t --> on 2 cores"
    assert timings.rewrite_markdown(text, {"smoke_sweep": 191.4}) == (
        "runs take <!-- t:smoke_sweep -->3 min 11 s<!-- /t --> on 2 cores")
    with pytest.raises(SystemExit, match="t:smoke_sweep names no measured job"):
        timings.rewrite_markdown(text, {"grid_sweep": 1.0})
