"""Output-folder safety: paths read from files stay inside the folder, --overwrite only replaces the tool's own
folders, one writer per folder (the lock), stale temporaries of dead writers, and summaries rebuilt from runs/.

Most cases call ``run.main([...])`` in-process; the lock is held by another
process (a small holder, or a real batch), and kills use ``kill -9``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FAST as SHORT
from helpers import NORMAL, ROOT, SMOKE_SWEEP, kill_batch_midway, run_cli, tiny_experiment

import run
from sim.model.params import ScenarioError
from sim.model.scenario import load_raw
from sim.runs.batch import prepare_folder
from sim.runs.experiment import load_experiment
from sim.runs.folder_lock import folder_lock
from sim.runs.folders import LOCK_FILE, is_folder_name
from sim.runs.store import check_tables

FAST = ["--quiet", *SHORT]
CALIBRATION = ROOT / "scenarios" / "calibration" / "baseline_rates.toml"


def experiment_text(replicates: int, duration_s: float) -> str:
    """A small experiment: normal.toml, vehicle and ketamine, 200 neurons."""
    return tiny_experiment(replicates=replicates, conditions=("vehicle", "ketamine_10uM"), duration_s=duration_s,
                           master_seed=3, readouts=("rate_glu_hz", "released_glu_per_s"))


SWEEP_TEXT = """name = "tiny_ishigami"
model = "ishigami"
master_seed = 3
design = "lhs"
samples = 8
outputs = ["y"]
[parameters.x1]
range = [-3.0, 3.0]
[parameters.x2]
range = [-3.0, 3.0]
[parameters.x3]
range = [-3.0, 3.0]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Design files: ``tiny`` (4 runs, 0.3 s each), ``slow`` (8 runs of 30 s of biology) and an Ishigami sweep."""
    folder = tmp_path_factory.mktemp("designs")
    texts = {"tiny": experiment_text(2, 0.3), "slow": experiment_text(4, 30.0), "sweep": SWEEP_TEXT}
    for name, text in texts.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return {name: folder / f"{name}.toml" for name in texts}


def finished_folder(command: str, design: Path, parent: Path) -> Path:
    """``parent/command``: the folder ``run.py COMMAND DESIGN`` made (two workers)."""
    out = parent / command
    result = run_cli(command, str(design), "--out", str(out), "--workers", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def tiny_batch(files, tmp_path_factory) -> Path:
    return finished_folder("batch", files["tiny"], tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tiny_sweep(files, tmp_path_factory) -> Path:
    return finished_folder("sweep", files["sweep"], tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def killed_batch(files, tmp_path_factory) -> Path:
    """The slow experiment, killed (-9, with its workers) once two runs are stored."""
    out = tmp_path_factory.mktemp("killed") / "batch"
    done = kill_batch_midway(["batch", str(files["slow"]), "--out", str(out), "--workers", "2"], out)
    assert 2 <= done < 8, "the kill should land mid-batch"
    return out


def copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to, symlinks=True)
    return to


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder)."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


def main(capsys, *args) -> tuple[int, str, str]:
    """``run.main`` in-process; exit code, stdout and stderr."""
    code = run.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def finished_runs(folder: Path) -> list[str]:
    return sorted(p.parent.name for p in (folder / "runs").glob("r*/summary.json"))


def dead_pid() -> int:
    """The PID of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------- run ids read from a manifest

BAD_RUN_IDS = [
    pytest.param("ABSOLUTE", id="absolute-path"),
    pytest.param("../../victim", id="dot-dot"),
    pytest.param("r00001/../../../victim", id="run-id-then-dot-dot"),
    pytest.param("", id="empty"),
    pytest.param("R00001", id="capital-r"),
    pytest.param("r00001 ", id="trailing-space"),
    pytest.param("r00001\n", id="trailing-newline"),
    pytest.param("r\u0661\u0662", id="non-ascii-digits"),
    pytest.param(7, id="a-number"),
    pytest.param(None, id="null"),
]
COMMANDS_READING_RUN_IDS = {
    "reproduce": lambda folder, exp: ["reproduce", folder, "--workers", "1", "--quiet"],
    "resume": lambda folder, exp: ["batch", exp, "--out", folder, "--resume", "--workers", "1", "--quiet"],
    "report": lambda folder, exp: ["report", folder],
}


@pytest.mark.parametrize("command", list(COMMANDS_READING_RUN_IDS))
@pytest.mark.parametrize("run_id", BAD_RUN_IDS)
def test_run_ids_of_a_manifest_must_be_the_tools(capsys, tmp_path, tiny_batch, files, command, run_id):
    sandbox = tmp_path / "sandbox"
    folder = copy(tiny_batch, sandbox / "batch")
    victim = copy(folder / "runs" / "r00001", sandbox / "victim")   # looks like a finished run
    (victim / "precious.txt").write_text("not the tool's", encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["runs"][1]["run_id"] = str(victim) if run_id == "ABSOLUTE" else run_id
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = snapshot(sandbox)
    code, out, err = main(capsys, *COMMANDS_READING_RUN_IDS[command](folder, files["tiny"]))
    assert_one_line_error(code, err, str(folder / "manifest.json"), "runs[1].run_id", "allowed: 'r' followed by digits")
    assert "match" not in out
    assert snapshot(sandbox) == before, "something inside or outside the folder changed"


def test_duplicate_run_ids_are_refused(capsys, tmp_path, tiny_batch):
    folder = copy(tiny_batch, tmp_path / "batch")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["runs"][2]["run_id"] = manifest["runs"][0]["run_id"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = main(capsys, "reproduce", folder, "--quiet")
    assert_one_line_error(code, err, "runs[2].run_id", "appears twice")


# --------------------------------------------------------------------------- names that build default folders

UNSAFE_NAMES = ["../../../x", "../x", "a/b", "ABSOLUTE", "..", ".", ".hidden", "", "a b", "x\ny", "a..b", "-x/.."]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_scenario_names_do_not_build_the_default_folder(capsys, tmp_path, monkeypatch, name):
    sandbox = tmp_path / "sandbox"
    work = sandbox / "work"
    work.mkdir(parents=True)
    value = str(sandbox / "abs") if name == "ABSOLUTE" else name
    scenario = work / "evil.toml"
    scenario.write_text(f'extends = "{NORMAL.as_posix()}"\nname = {json.dumps(value)}\n', encoding="utf-8")
    monkeypatch.chdir(work)
    before = snapshot(sandbox)
    code, _, err = main(capsys, "simulate", scenario, *FAST)
    assert_one_line_error(code, err, f"{scenario}: name", "cannot name an output folder", "allowed: letters",
                          "--out DIR")
    assert snapshot(sandbox) == before


@pytest.mark.parametrize("condition", ["../escape", "a/b", ".."])
def test_unsafe_condition_names_do_not_build_the_default_folder(capsys, tmp_path, monkeypatch, condition):
    scenario = tmp_path / "cond.toml"
    scenario.write_text(f'extends = "{NORMAL.as_posix()}"\n[conditions.{json.dumps(condition)}]\nketamine_uM = 1.0\n',
                        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = main(capsys, "simulate", scenario, "--condition", condition, *FAST)
    assert_one_line_error(code, err, "--condition", "cannot name an output folder")
    assert snapshot(tmp_path) == before


def test_a_safe_name_builds_the_default_folder(capsys, tmp_path, monkeypatch):
    scenario = tmp_path / "fine.toml"
    scenario.write_text(f'extends = "{NORMAL.as_posix()}"\nname = "my-scenario_1.0+x"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = main(capsys, "simulate", scenario, *FAST)
    assert code == 0, err
    assert (tmp_path / "results" / "simulate" / "my-scenario_1.0+x-vehicle-seed1" / "manifest.json").is_file()


@pytest.mark.parametrize("name, safe", [("normal", True), ("a-b_c.d+e", True), ("r00001", True), ("x..y", False),
                                        ("../x", False), ("x/y", False), ("", False), (".x", False), (3, False)])
def test_folder_name_rule(name, safe):
    assert is_folder_name(name) is safe


# --------------------------------------------------------------------------- extends: any .toml, read only

BAD_EXTENDS = [   # (the value in the file, a fragment of the message, whether it names child.toml's key)
    pytest.param("3", "got 3", True, id="a-number"),
    pytest.param('""', "got ''", True, id="empty"),
    pytest.param('"sub"', "got 'sub'", True, id="no-suffix"),
    pytest.param('"notes.txt"', "got 'notes.txt'", True, id="other-suffix"),
    pytest.param('"/dev/null"', "got '/dev/null'", True, id="device"),
    pytest.param('"nul\\u0000.toml"', "got 'nul", True, id="nul-byte"),
    pytest.param('"folder.toml"', "folder.toml: is a folder", False, id="a-folder"),
    pytest.param('"missing.toml"', "missing.toml: scenario file not found", False, id="missing"),
]


@pytest.mark.parametrize("extends, fragment, names_key", BAD_EXTENDS)
def test_bad_extends_give_one_line(capsys, tmp_path, extends, fragment, names_key):
    (tmp_path / "folder.toml").mkdir()
    child = tmp_path / "child.toml"
    child.write_text(f"extends = {extends}\n", encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = main(capsys, "simulate", child, "--out", out, *FAST)
    key = [f"{child}: extends", "expected the path of a .toml file"] if names_key else []
    assert_one_line_error(code, err, fragment, *key)
    assert not out.exists()


def test_extends_may_read_a_toml_file_anywhere(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    child = elsewhere / "child.toml"
    for parent in (NORMAL.as_posix(), Path(os.path.relpath(NORMAL, elsewhere)).as_posix()):
        child.write_text(f'extends = "{parent}"\nname = "child"\n', encoding="utf-8")
        data, chain = load_raw(child)
        assert chain == [NORMAL.resolve(), child.resolve()] and data["name"] == "child"
    child.write_text(f'extends = "{Path(os.path.relpath("/etc/passwd", elsewhere)).as_posix()}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="expected the path of a .toml file"):
        load_raw(child)


# --------------------------------------------------------------------------- --overwrite

FOREIGN = [
    pytest.param({"notes.txt": b"mine"}, id="no-manifest"),
    pytest.param({"manifest.json": b"not json"}, id="manifest-not-json"),
    pytest.param({"manifest.json": b'{"kind": "thesis"}'}, id="manifest-of-another-kind"),
    pytest.param({"manifest.json": b'["simulate"]'}, id="manifest-not-a-table"),
    pytest.param({"manifest.json": b"\xff\xfe"}, id="manifest-not-text"),
    pytest.param({"data/raw.csv": b"1,2\n"}, id="only-a-subfolder"),
]


@pytest.mark.parametrize("content", FOREIGN)
def test_overwrite_leaves_a_foreign_folder_alone(capsys, tmp_path, content):
    out = tmp_path / "theirs"
    for name, data in content.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    before = snapshot(tmp_path)
    code, _, err = main(capsys, "simulate", NORMAL, "--out", out, "--overwrite", *FAST)
    assert_one_line_error(code, err, f"--out {out}", "not made by run.py", "left alone")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("state", ["empty", "made by simulate", "made by batch"])
def test_overwrite_replaces_an_empty_folder_or_one_the_tool_made(capsys, tmp_path, tiny_batch, state):
    out = tmp_path / "ours"
    if state == "empty":
        out.mkdir()
    elif state == "made by simulate":
        assert main(capsys, "simulate", NORMAL, "--out", out, *FAST)[0] == 0
    else:
        copy(tiny_batch, out)
    if state != "empty":
        (out / "marker").write_text("old", encoding="utf-8")
    code, _, err = main(capsys, "simulate", NORMAL, "--out", out, "--overwrite", *FAST)
    assert code == 0, err
    assert not (out / "marker").exists() and json.loads((out / "manifest.json").read_text())["kind"] == "simulate"
    assert [p.name for p in tmp_path.iterdir()] == ["ours"], "no staging folder left beside it"


# --------------------------------------------------------------------------- one writer per folder

HOLDER = """import sys
from pathlib import Path
from sim.runs.folder_lock import folder_lock
with folder_lock(Path(sys.argv[1]), "run.py batch (the test's holder)"):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def held(folder: Path):
    """Another process holding ``folder``'s lock; yields its PID."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


SECOND_WRITERS = {
    "batch": lambda f, d: ["batch", d["tiny"], "--out", f, "--quiet"],
    "batch --resume": lambda f, d: ["batch", d["tiny"], "--out", f, "--resume", "--quiet"],
    "sweep --resume": lambda f, d: ["sweep", SMOKE_SWEEP, "--out", f, "--resume", "--quiet"],
    "report": lambda f, d: ["report", f],
    "validate": lambda f, d: ["validate", "--quick", "--out", f, "--quiet"],
    "calibrate --resume": lambda f, d: ["calibrate", CALIBRATION, "--out", f, "--resume", "--quiet"],
    "reproduce": lambda f, d: ["reproduce", f, "--quiet"],
    "simulate --overwrite": lambda f, d: ["simulate", NORMAL, "--out", f, "--overwrite", *FAST],
}


@pytest.mark.parametrize("command", list(SECOND_WRITERS))
def test_a_second_writer_is_refused_with_the_holders_pid(capsys, tmp_path, tiny_batch, files, command):
    folder = copy(tiny_batch, tmp_path / "batch")
    with held(folder) as pid:
        before = snapshot(tmp_path)
        code, out, err = main(capsys, *SECOND_WRITERS[command](folder, files))
        assert_one_line_error(code, err, str(folder), f"in use by PID {pid}", "the test's holder")
        assert snapshot(tmp_path) == before, "the refused command wrote something"
    assert not (folder / LOCK_FILE).exists(), "the holder removes its lock file"


def test_a_resume_while_the_batch_runs_is_refused_and_the_batch_stays_good(capsys, tmp_path, files):
    out = tmp_path / "batch"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "batch", str(files["slow"]), "--out", str(out),
                             "--workers", "2", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / LOCK_FILE).is_file() or not (out / "manifest.json").is_file():
            assert time.monotonic() < deadline and proc.poll() is None, "the batch did not start"
            time.sleep(0.02)
        code, _, err = main(capsys, "batch", files["slow"], "--out", out, "--resume", "--workers", "1", "--quiet")
        assert_one_line_error(code, err, f"in use by PID {proc.pid}", "run.py batch")
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "8 runs done, 0 already done, 0 failed" in stdout
    frame = pd.read_parquet(out / "summary.parquet")
    assert len(frame) == 8 and (frame["status"] == "ok").all()
    assert not list(out.glob("runs/*/error.json")) and not (out / LOCK_FILE).exists()


def test_a_killed_batchs_lock_is_taken_over_by_resume(capsys, tmp_path, killed_batch, files):
    out = copy(killed_batch, tmp_path / "batch")
    holder = (out / LOCK_FILE).read_text(encoding="utf-8").split()
    assert holder[1:3] == ["run.py", "batch"], "the killed batch left its lock file"
    done = len(finished_runs(out))
    code, stdout, err = main(capsys, "batch", files["slow"], "--out", out, "--resume", "--workers", "2", "--quiet")
    assert code == 0, err
    assert f"{8 - done} runs done, {done} already done, 0 failed" in stdout
    assert not (out / LOCK_FILE).exists() and not list((out / "runs").glob(".*"))


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry))
    return kids


def _open_files(pid: int) -> set[str]:
    out = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_lock_is_free_after_kill_9_of_the_parent_and_its_workers_never_hold_it(capsys, tmp_path, files):
    """Local workers are forked while the folder is locked; they must not hold the lock file (and so cannot keep
    the folder locked whether or not they outlive the parent)."""
    out = tmp_path / "batch"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "batch", str(files["slow"]), "--out", str(out),
                             "--workers", "2", "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "runs").glob("r*")):
            assert time.monotonic() < deadline and proc.poll() is None, "no run finished"
            time.sleep(0.02)
        command = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        workers = [k for k in _children(proc.pid) if Path(f"/proc/{k}/cmdline").read_bytes() == command]
        assert workers, "the batch has forked worker processes"
        lock = str((out / LOCK_FILE).resolve())
        assert lock in _open_files(proc.pid), "the parent holds the lock file open"
        assert all(lock not in _open_files(w) for w in workers), "a worker holds the lock file open"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        fd = os.open(out / LOCK_FILE, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises BlockingIOError if a worker kept the lock
        finally:
            os.close(fd)
        code, stdout, err = main(capsys, "batch", files["slow"], "--out", out, "--resume", "--workers", "2",
                                 "--quiet")
        assert code == 0 and "0 failed (of 8)" in stdout, err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_forked_children_close_the_lock_file(tmp_path):
    folder = tmp_path / "f"
    with folder_lock(folder, "test"):
        lock = str((folder / LOCK_FILE).resolve())
        assert lock in _open_files(os.getpid())
        child = os.fork()
        if child == 0:   # pragma: no cover - the forked child
            os._exit(1 if lock in _open_files(os.getpid()) else 0)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child still had the lock file open"


def test_the_lock_is_reentrant_and_a_refused_command_leaves_no_folder(tmp_path):
    folder = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), folder_lock(folder, "test"), folder_lock(folder, "test again"):
        assert (folder / LOCK_FILE).read_text().startswith(f"{os.getpid()} test\n")
        raise RuntimeError("bad input found after the lock was taken")
    assert not (tmp_path / "a").exists(), "the folders the lock made are removed again when left empty"
    with folder_lock(folder, "test"):
        (folder / "result.txt").write_text("x")
    assert sorted(p.name for p in folder.iterdir()) == ["result.txt"], "the lock file goes, the results stay"


# --------------------------------------------------------------------------- stale temporaries

@pytest.mark.parametrize("command", ["batch --resume", "report"])
def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(capsys, tmp_path, tiny_batch, files,
                                                                          command):
    folder = copy(tiny_batch, tmp_path / "batch")
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = dead_pid()
    stale = [f".summary.parquet.tmp-{dead}", f".manifest.json.tmp-{dead}", f"runs/.r00001.partial-{dead}/",
             f"runs/.r00002.old-{dead}/", f"runs/.summary.json.tmp-{dead}"]
    kept = [f".summary.csv.tmp-{live.pid}", f"runs/.r00003.partial-{live.pid}/", ".summary.parquet.tmp",
            f"notes.tmp-{dead}", f"runs/.r00000.partial-{dead}.keep", f"runs/r00000/.summary.json.tmp-{dead}"]
    try:
        for name in stale + kept:
            path = folder / name.rstrip("/")
            if name.endswith("/"):
                path.mkdir()
                (path / "summary.json").write_text("{}")
            else:
                path.write_text("partial")
        args = (["batch", files["tiny"], "--out", folder, "--resume", "--quiet"] if command == "batch --resume"
                else ["report", folder])
        code, _, err = main(capsys, *args)
        assert code == 0, err
        assert [n for n in stale if (folder / n.rstrip("/")).exists()] == [], "a dead writer's temporary is left"
        assert [n for n in kept if not (folder / n.rstrip("/")).exists()] == [], "a live or foreign entry was removed"
    finally:
        live.stdin.close()
        live.wait()


def test_simulate_removes_the_stale_stages_of_its_own_folder(capsys, tmp_path):
    out = tmp_path / "out"
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = dead_pid()
    try:
        for name in (f".out.partial-{dead}", f".out.old-{dead}", f".out.partial-{live.pid}", f".other.partial-{dead}"):
            (tmp_path / name).mkdir()
        assert main(capsys, "simulate", NORMAL, "--out", out, *FAST)[0] == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".other.partial-{dead}", f".out.partial-{live.pid}",
                                                             "out"]
    finally:
        live.stdin.close()
        live.wait()


# --------------------------------------------------------------------------- summaries rebuilt from runs/

def _lag(folder: Path, rows: int = 1, tables: tuple[str, ...] = ("summary",)) -> None:
    """Make the folder's tables lag its runs as a kill between two summary writes leaves them."""
    for table in tables:
        frame = pd.read_parquet(folder / f"{table}.parquet").head(rows)
        frame.to_parquet(folder / f"{table}.parquet", index=False)
        frame.to_csv(folder / f"{table}.csv", index=False)


def test_report_rebuilds_the_summary_a_kill_left_behind(capsys, tmp_path, killed_batch):
    folder = copy(killed_batch, tmp_path / "batch")
    if (folder / "summary.parquet").is_file():
        _lag(folder)
    else:
        (folder / "summary.csv").unlink(missing_ok=True)
    code, _, err = main(capsys, "report", folder)
    assert code == 0, err
    stored = finished_runs(folder)
    for name in ("summary.parquet", "summary.csv"):
        frame = pd.read_parquet(folder / name) if name.endswith(".parquet") else pd.read_csv(folder / name)
        assert sorted(frame["run_id"]) == stored, name
    assert all(c.matches for c in check_tables(folder))


def test_resume_rebuilds_the_summary_before_it_runs(tmp_path, killed_batch, files):
    folder = copy(killed_batch, tmp_path / "batch")
    (folder / "summary.parquet").unlink(missing_ok=True)
    (folder / "summary.csv").unlink(missing_ok=True)
    with folder_lock(folder, "test", create=False):
        pending = prepare_folder(folder, load_experiment(files["slow"]), ["batch"], resume=True)
    stored = finished_runs(folder)
    assert len(pending) == 8 - len(stored)
    assert sorted(pd.read_parquet(folder / "summary.parquet")["run_id"]) == stored
    assert sorted(pd.read_csv(folder / "summary.csv")["run_id"]) == stored


def test_report_rebuilds_a_sweeps_tables(capsys, tmp_path, tiny_sweep):
    folder = copy(tiny_sweep, tmp_path / "sweep")
    _lag(folder, rows=2, tables=("summary", "sweep"))
    assert not all(c.matches for c in check_tables(folder))
    code, _, err = main(capsys, "report", folder)
    assert code == 0, err
    assert len(pd.read_parquet(folder / "sweep.parquet")) == 8 and len(pd.read_csv(folder / "sweep.csv")) == 8
    assert [c.line for c in check_tables(folder)] == [f"{n}: match" for n in ("summary.parquet", "summary.csv",
                                                                                "sweep.parquet", "sweep.csv")]


# --------------------------------------------------------------------------- reproduce checks the summaries

def _edit(folder: Path, name: str) -> None:
    """Change one value of a table: a run's status in a CSV file, a metric in a parquet file."""
    path = folder / name
    if name.endswith(".csv"):
        lines = path.read_text(encoding="utf-8").split("\n")
        assert ",ok," in lines[2]
        lines[2] = lines[2].replace(",ok,", ",error,", 1)
        path.write_text("\n".join(lines), encoding="utf-8")
    else:
        frame = pd.read_parquet(path)
        column = "rate_glu_hz" if "rate_glu_hz" in frame else "y"
        frame.loc[1, column] += 0.001
        frame.to_parquet(path, index=False)


@pytest.mark.parametrize("edited", [None, "summary.csv", "summary.parquet", "missing summary.csv"])
def test_reproduce_notices_an_edited_summary(capsys, tmp_path, tiny_batch, edited):
    folder = copy(tiny_batch, tmp_path / "batch")
    if edited == "missing summary.csv":
        (folder / "summary.csv").unlink()
    elif edited:
        _edit(folder, edited)
    code, out, err = main(capsys, "reproduce", folder, "--runs", "1", "--workers", "1", "--quiet")
    name = edited.split()[-1] if edited else None
    for table in ("summary.parquet", "summary.csv"):
        if table == name:
            note = "missing" if edited.startswith("missing") else "differs from runs/"
            assert f"{table}: MISMATCH ({note}" in out
        else:
            assert f"{table}: match" in out
    assert "1 of 1 runs reproduced bit for bit" in out
    assert code == (1 if edited else 0), err


@pytest.mark.parametrize("edited", ["sweep.csv", "sweep.parquet"])
def test_reproduce_notices_an_edited_sweep_table(capsys, tmp_path, tiny_sweep, edited):
    folder = copy(tiny_sweep, tmp_path / "sweep")
    _edit(folder, edited)
    code, out, _ = main(capsys, "reproduce", folder, "--runs", "1", "--workers", "1", "--quiet")
    assert code == 1 and f"{edited}: MISMATCH (differs from runs/)" in out and "summary.parquet: match" in out
