"""Errors of the environment and of stored files as one line; workers that die with the client; output escaping.

- an ``--out`` that cannot be written, a full disk, a damaged manifest, a bad
  ``--scheduler`` address or a server there that is not Dask: one line on
  stderr naming the path, option or field and what is allowed, exit code 2,
  no traceback, nothing written;
- ``kill -9`` of ``run.py`` leaves no worker process; Ctrl-C says what was kept;
- a local Dask cluster listens on 127.0.0.1 only;
- ``$`` in user text does not break matplotlib; CSV text cells that a
  spreadsheet would run as formulas are quoted, numbers stay numbers.

Most cases call ``run.main([...])`` in-process with the working folder in the
test's temporary folder; the kill, Ctrl-C and Dask cases run ``run.py`` in a
subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FAST, NORMAL, ROOT, SMOKE_EXPERIMENT, SMOKE_SWEEP

import run
import sim.model.model
from analysis.mpl_text import plain
from sim.runs import validate_folder
from sim.runs.csv_cells import defuse_formulas
from sim.runs.oserrors import describe
from sim.runs.outputs import OutputError, write_json, write_table

CALIBRATION = ROOT / "scenarios" / "calibration" / "baseline_rates.toml"

# a scenario and an experiment whose names carry mathtext and spreadsheet-formula characters
CHILD_SCENARIO = f"""extends = "{NORMAL.as_posix()}"
name = "net$^$work"

[conditions."=ket$^$"]
ketamine_uM = 10.0
"""
TINY_EXPERIMENT = """name = "a$^$b"
description = "costs $1 ^ $2"
master_seed = 7
replicates = 1
scenarios = ["child.toml"]
conditions = ["vehicle", "=ket$^$"]
readouts = ["evoked_release_glu_per_pulse", "rate_glu_hz"]

[scenario.network]
n_neurons = 200

[scenario.protocol]
duration_s = 0.6
warmup_s = 0.2
record_interval_ms = 20.0

[[scenario.protocol.stimuli]]
kind = "train"
start_s = 0.3
rate_hz = 20.0
n_pulses = 3
"""
# a test-function sweep (no simulation: seconds) with such a condition name
TINY_SWEEP = """name = "s$^$w"
description = "a $^$ sweep"
model = "ishigami"
master_seed = 3
design = "grid"
conditions = ["=c$^$"]
outputs = ["y"]

[parameters.x1]
range = [-3.0, 3.0]
levels = 3

[parameters.x2]
range = [-3.0, 3.0]
levels = 2

[parameters.x3]
values = [0.0, 1.0]
"""


def one_line(code: int, err: str, *fragments: str, started: bool = False) -> str:
    """The single ``error:`` line of a refused command (exit code 2), checked for its fragments; with ``started``
    the command may have printed what it started on before (simulate names its network), the error comes last."""
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    if started:
        assert lines and [ln for ln in lines if ln.startswith("error: ")] == lines[-1:], err
        lines = lines[-1:]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def tree(folder: Path) -> list[str]:
    """Every path below ``folder``, relative and sorted (to compare before and after)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def leftovers(folder: Path) -> list[str]:
    """Temporary and staged files and folders (``.NAME.tmp-PID``, ``.NAME.partial-PID``) below ``folder``."""
    return [str(p) for p in folder.rglob(".*") if ".tmp" in p.name or ".partial-" in p.name]


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Path:
    """The test's temporary folder as the working folder, so that nothing can be written elsewhere."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation fails the test: the error must come before one starts."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("a simulation started before the error was found")

    monkeypatch.setattr(sim.model.model.SynapseNetworkModel, "run", refuse)


def write_tiny_experiment(folder: Path) -> Path:
    (folder / "child.toml").write_text(CHILD_SCENARIO, encoding="utf-8")
    path = folder / "tiny.toml"
    path.write_text(TINY_EXPERIMENT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory) -> Path:
    """A finished batch of the tiny experiment (4 runs of 200 neurons, 0.6 s; names with ``$`` and ``=``)."""
    folder = tmp_path_factory.mktemp("tiny")
    out = folder / "batch"
    code = run.main(["batch", str(write_tiny_experiment(folder)), "--out", str(out), "--workers", "2", "--quiet"])
    assert code == 0
    return out


# --------------------------------------------------------------------------- --out that cannot be written


COMMANDS = {
    "simulate": lambda out: ["simulate", str(NORMAL), "--out", out, "--quiet", *FAST],
    "batch": lambda out: ["batch", str(SMOKE_EXPERIMENT), "--out", out, "--quiet"],
    "sweep": lambda out: ["sweep", str(SMOKE_SWEEP), "--out", out, "--quiet"],
    "validate": lambda out: ["validate", "--quick", "--out", out, "--quiet"],
    "calibrate": lambda out: ["calibrate", str(CALIBRATION), "--out", out, "--quick", "--quiet"],
}
# where, and what the line must say: an existing file as --out, a path below a file, a place nobody can create in
PLACES = {
    "a-file": ("{tmp}/file", ["exists and is not a folder"]),
    "below-a-file": ("{tmp}/file/sub", ["{tmp}/file is not a folder"]),
    "proc": ("/proc/vesicle-sim-test/out", ["cannot write in /proc", "No such file or directory"]),
}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_unwritable_out_is_refused_before_simulating(capsys, sandbox, no_simulation, command, place):
    (sandbox / "file").write_text("not a folder\n")
    before = tree(sandbox)
    pattern, fragments = PLACES[place]
    out = pattern.format(tmp=sandbox)
    start = time.monotonic()
    code = run.main(COMMANDS[command](out))
    one_line(code, capsys.readouterr().err, f"--out {out}", *(f.format(tmp=sandbox) for f in fragments))
    assert time.monotonic() - start < 10, "the check must come before loading and simulating"
    assert tree(sandbox) == before, "nothing may be written"
    assert (sandbox / "file").read_text() == "not a folder\n"


# --------------------------------------------------------------------------- a full disk


def enospc_writer(monkeypatch) -> None:
    """Every parquet write puts a few bytes into its file, then fails as a full disk does (no file name)."""
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)


def test_full_disk_while_simulate_writes(capsys, sandbox, monkeypatch):
    enospc_writer(monkeypatch)
    out = sandbox / "out"
    code = run.main(["simulate", str(NORMAL), "--out", str(out), "--quiet", *FAST])
    line = one_line(code, capsys.readouterr().err, "timeseries.parquet: No space left on device", started=True)
    assert str(sandbox) in line
    assert not out.exists() and tree(sandbox) == [], "staged output removed, nothing half-written"


def test_full_disk_while_batch_writes(capsys, sandbox, monkeypatch):
    experiment = write_tiny_experiment(sandbox)
    enospc_writer(monkeypatch)
    out = sandbox / "out"
    code = run.main(["batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet"])
    one_line(code, capsys.readouterr().err, str(out), ".parquet: No space left on device")
    assert leftovers(sandbox) == [], "no temporary file or staged run folder remains"
    assert not list((out / "runs").iterdir()), "no run folder was published half-written"


def test_write_json_removes_its_temporary_file_and_names_the_file(tmp_path, monkeypatch):
    def full(self, text, *args, **kwargs):
        Path(self).write_bytes(b"{")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError) as caught:
        write_json(tmp_path / "a.json", {"x": 1})
    assert describe(caught.value) == f"{tmp_path / 'a.json'}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def test_full_tmpfs_gives_one_line(tmp_path):
    """A real full disk (a 64 KiB tmpfs; needs the right to mount)."""
    disk = tmp_path / "disk"
    if not tmpfs(disk, "64k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "out"
        proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "simulate", str(NORMAL), "--out", str(out),
                               "--quiet", *FAST], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        one_line(proc.returncode, proc.stderr, str(disk), "No space left on device", started=True)
        assert list(disk.iterdir()) == [], "nothing half-written stays on the full disk"
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_any_os_error_of_a_command_is_one_line(capsys, sandbox, monkeypatch):
    def broken(args, argv):
        raise PermissionError(errno.EACCES, "Permission denied", "/some/where")

    def nameless(args, argv):
        raise OSError(errno.EIO, "I/O")

    monkeypatch.setattr(run, "report", broken)
    one_line(run.main(["report", str(sandbox)]), capsys.readouterr().err, "error: /some/where: Permission denied")
    monkeypatch.setattr(run, "report", nameless)
    one_line(run.main(["report", str(sandbox)]), capsys.readouterr().err, f"error: {sandbox}: Input/output error")


# --------------------------------------------------------------------------- Dask scheduler addresses


BAD_ADDRESSES = {
    "not-an-address": "no :PORT",
    "tcp://host": "no :PORT",
    "http://127.0.0.1:8786": "unknown protocol 'http'",
    "inproc://127.0.0.1/1/2": "inproc:// addresses exist only inside the process",
    "tcp://127.0.0.1:99999": "port '99999' is not a number from 1 to 65535",
    "tcp://:8786": "is not a host name",
}


@pytest.mark.parametrize("address", list(BAD_ADDRESSES))
def test_malformed_scheduler_address(capsys, sandbox, no_simulation, address):
    code = run.main(["batch", str(SMOKE_EXPERIMENT), "--out", "out", "--backend", "dask", "--scheduler", address,
                     "--quiet"])
    one_line(code, capsys.readouterr().err, f"--scheduler {address}", BAD_ADDRESSES[address],
             "allowed: tcp://HOST:PORT")
    assert tree(sandbox) == []


def serve(mode: str) -> tuple[str, socket.socket]:
    """A TCP server on 127.0.0.1 that accepts and then says nothing, sends junk, or answers like an HTTP server."""
    server = socket.create_server(("127.0.0.1", 0))
    replies = {"silent": b"", "junk": b"\x00\xffjunk" * 100,
               "http": b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html></html>"}
    held = []

    def loop():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)               # never closed by the server: the client must give up on its own
            if replies[mode]:
                conn.sendall(replies[mode])

    threading.Thread(target=loop, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", server


@pytest.mark.parametrize("mode", ["silent", "junk", "http"])
def test_a_server_that_is_not_dask_fails_fast(tmp_path, mode):
    address, server = serve(mode)
    out = tmp_path / "out"
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "batch", str(SMOKE_EXPERIMENT), "--out",
                               str(out), "--backend", "dask", "--scheduler", address, "--quiet"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    finally:
        server.close()
    elapsed = time.monotonic() - start
    one_line(proc.returncode, proc.stderr, f"--scheduler {address}", "allowed: tcp://HOST:PORT")
    assert elapsed < 25, f"took {elapsed:.0f} s (the handshake deadline is 5 s)"
    assert not out.exists()


LOCAL_CLUSTER_SCRIPT = """
import sys
from sim.runs.executors import DaskExecutor

if __name__ == "__main__":
    ex = DaskExecutor(workers=1, log=sys.stderr)
    scheduler = ex._cluster.scheduler
    print(" ".join(sorted({s.getsockname()[0] for s in scheduler.http_server._sockets.values()})))
    print(scheduler.address)
    print(" ".join(ex.client.scheduler_info()["workers"]))
    ex.close()
"""


def test_local_cluster_listens_on_this_machine_only(tmp_path):
    script = tmp_path / "cluster.py"
    script.write_text(LOCAL_CLUSTER_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    dashboard, scheduler, workers = proc.stdout.strip().splitlines()
    assert dashboard == "127.0.0.1", f"dashboard listens on {dashboard}"
    assert scheduler.startswith("tcp://127.0.0.1:")
    assert workers.split() and all(w.startswith("tcp://127.0.0.1:") for w in workers.split())
    assert "dashboard http://127.0.0.1:" in proc.stderr


# --------------------------------------------------------------------------- workers die with run.py


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc/*/stat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def is_worker(pid: int) -> bool:
    try:
        return b"resource_tracker" not in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


LONG_EXPERIMENT = f"""name = "long"
master_seed = 7
replicates = 2
scenarios = ["{NORMAL.as_posix()}"]
conditions = ["vehicle"]
"""   # two runs of the full normal network for 60 s: tens of seconds each, still running when killed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("backend, bound_s", [("local", 5.0), ("dask", 20.0)])
def test_workers_die_when_run_py_is_killed(tmp_path, backend, bound_s):
    experiment = tmp_path / "long.toml"
    experiment.write_text(LONG_EXPERIMENT)
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "batch", str(experiment), "--out",
                             str(tmp_path / "out"), "--workers", "2", "--backend", backend, "--quiet"],
                            cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(map(is_worker, children(proc.pid))) < 2:
            time.sleep(0.1)
        time.sleep(1.0)                            # the workers have started their runs
        kids = children(proc.pid)
        assert sum(map(is_worker, kids)) >= 2, f"workers did not start: {kids}"
        os.kill(proc.pid, signal.SIGKILL)          # the parent only, not its process group
        proc.wait()
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline and any(map(alive, kids)):
            time.sleep(0.1)
        assert not [k for k in kids if alive(k)], f"still running {bound_s:g} s after the kill"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)    # whatever is left of the group, so that nothing leaks
        except ProcessLookupError:
            pass
        proc.wait()


# --------------------------------------------------------------------------- Ctrl-C


SHORT_EXPERIMENT = f"""name = "short"
master_seed = 7
replicates = 4
scenarios = ["{NORMAL.as_posix()}"]
conditions = ["vehicle"]

[scenario.protocol]
duration_s = 6.0
warmup_s = 1.0
"""


def interrupt(proc: subprocess.Popen) -> tuple[int, str]:
    os.killpg(proc.pid, signal.SIGINT)             # as Ctrl-C does: the whole foreground group
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_in_a_batch_says_what_is_kept(tmp_path):
    experiment = tmp_path / "short.toml"
    experiment.write_text(SHORT_EXPERIMENT)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "batch", str(experiment), "--out", str(out),
                             "--workers", "2", "--quiet"], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "runs").glob("r*")):
        time.sleep(0.05)
    code, err = interrupt(proc)
    finished = len(list(out.glob("runs/*/summary.json")))
    assert code == 130 and 1 <= finished < 4, (code, finished, err)
    assert err.strip().splitlines()[-1] == (f"interrupted; {finished} finished runs are kept in {out}; "
                                            f"rerun with --resume to finish")
    assert "nothing was written" not in err


def test_ctrl_c_in_simulate_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "simulate", str(NORMAL), "--out", str(out),
                             "--quiet"], cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert "neurons" in proc.stderr.readline()      # printed as the simulation starts
    code, err = interrupt(proc)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- reproduce: damaged manifests


def damage_runs(manifest: dict, how: str) -> None:
    first = manifest["runs"][0]
    if how == "extra-field":
        first["colour"] = "red"
    elif how == "missing-field":
        del first["seed"]
    elif how == "wrong-type":
        first["replicate"] = "first"
    elif how == "not-a-table":
        manifest["runs"][0] = ["r00000"]
    elif how == "runs-not-a-list":
        manifest["runs"] = {"r00000": first}
    elif how == "no-scenarios":
        del manifest["scenarios"]
    elif how == "unknown-scenario":
        first["scenario"] = "elsewhere"


DAMAGE = {
    "extra-field": "runs[0].colour: unknown field",
    "missing-field": "runs[0].seed: missing field",
    "wrong-type": "runs[0].replicate: expected int, got 'first'",
    "not-a-table": "runs[0]: expected a table of fields",
    "runs-not-a-list": "runs: expected a list of runs",
    "no-scenarios": "scenarios: missing",
    "unknown-scenario": "runs[0].scenario: 'elsewhere' is not stored under scenarios",
}


@pytest.mark.parametrize("runs", [[], ["--runs", "1"]], ids=["all", "some"])
@pytest.mark.parametrize("how", list(DAMAGE))
def test_reproduce_names_the_damaged_manifest_field(capsys, tiny_batch, tmp_path, how, runs):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_batch, folder)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    damage_runs(manifest, how)
    path.write_text(json.dumps(manifest))
    before = tree(folder)
    code = run.main(["reproduce", str(folder), "--quiet", *runs])
    one_line(code, capsys.readouterr().err, str(path), DAMAGE[how])
    assert tree(folder) == before


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_reproduce_refuses_fewer_than_one_worker(capsys, tiny_batch, workers):
    code = run.main(["reproduce", str(tiny_batch), "--workers", workers, "--quiet"])
    one_line(code, capsys.readouterr().err, f"--workers {workers}", "allowed: 1 or more")


# --------------------------------------------------------------------------- validate --out


def test_validate_refuses_a_batch_folder(capsys, tiny_batch, no_simulation):
    before = tree(tiny_batch)
    code = run.main(["validate", "--quick", "--out", str(tiny_batch), "--quiet"])
    one_line(code, capsys.readouterr().err, f"--out {tiny_batch}", "not a folder made by validate",
             "manifest.json")
    assert tree(tiny_batch) == before


@pytest.mark.parametrize("content, fragment", [
    ({"notes.txt": "mine"}, "notes.txt"),
    ({"validate.json": json.dumps({"kind": "batch"})}, "not a validate mark"),
    ({"validate.json": "{ not json"}, "corrupt validate mark"),
], ids=["other-files", "foreign-mark", "corrupt-mark"])
def test_validate_refuses_a_folder_it_did_not_make(capsys, tmp_path, no_simulation, content, fragment):
    out = tmp_path / "out"
    out.mkdir()
    for name, text in content.items():
        (out / name).write_text(text)
    before = tree(out)
    one_line(run.main(["validate", "--quick", "--out", str(out), "--quiet"]), capsys.readouterr().err,
             str(out), fragment)
    assert tree(out) == before


def test_validate_folder_mark_and_its_own_folders(tmp_path):
    out = tmp_path / "v"
    validate_folder.check_folder(out, ["evoked_release"])          # new: fine, nothing created
    assert not out.exists()
    validate_folder.mark_folder(out, ["validate", "--quick"], quick=True)
    mark = json.loads((out / "validate.json").read_text())
    assert mark["kind"] == "validate" and mark["mode"] == "quick"
    (out / "batch-of-mine").mkdir()
    validate_folder.check_folder(out, ["evoked_release"])          # marked: its content is validate's
    legacy = tmp_path / "old"
    (legacy / "evoked_release").mkdir(parents=True)
    (legacy / "validation.md").write_text("# old\n")
    validate_folder.check_folder(legacy, ["evoked_release"])       # made before the mark existed
    (legacy / "summary.csv").write_text("x\n")
    with pytest.raises(OutputError, match="summary.csv"):
        validate_folder.check_folder(legacy, ["evoked_release"])


# --------------------------------------------------------------------------- $ in names, formulas in CSV


def test_report_with_dollar_signs_in_names(capsys, tiny_batch, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_batch, folder)
    assert run.main(["report", str(folder)]) == 0, capsys.readouterr().err
    assert (folder / "report.pdf").stat().st_size > 0
    assert "a$^$b" in (folder / "report.html").read_text(encoding="utf-8"), "HTML keeps the name as typed"


def test_sweep_and_report_with_dollar_signs_in_names(capsys, sandbox):
    path = sandbox / "sweep.toml"
    path.write_text(TINY_SWEEP)
    assert run.main(["sweep", str(path), "--out", "s", "--workers", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert run.main(["report", "s"]) == 0, capsys.readouterr().err
    assert (sandbox / "s" / "report.pdf").stat().st_size > 0


@pytest.mark.parametrize("text", ["a$b", "a$^$b", "$x$", "x $\\foo$ y", "a\\$b$"])
def test_plain_text_is_never_mathtext(text):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    drawn = fig.text(0.1, 0.5, plain(text))
    fig.canvas.draw()
    shown, math = drawn._preprocess_math(drawn.get_text())
    plt.close(fig)
    assert not math
    assert shown == text.replace("\\$", "$")


def test_csv_cells_that_start_like_formulas_are_quoted(tmp_path):
    frame = pd.DataFrame({
        "condition": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "\tx", "vehicle", None],
        "number": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0],
        "mixed": [-2, "-2", 3, "=1", "ok", -1.0, None],
    })
    write_table(tmp_path / "t.csv", frame)
    write_table(tmp_path / "t.parquet", frame.astype({"mixed": str}))
    text = (tmp_path / "t.csv").read_text()
    stored = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert list(stored["condition"]) == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "vehicle", ""]
    assert list(stored["number"]) == [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0], "numbers stay numbers"
    assert list(stored["mixed"]) == ["-2", "'-2", "3", "'=1", "ok", "-1.0", ""], "only text cells are quoted"
    assert ",-1.5," in text, "a negative number is written as a number"
    assert pd.read_parquet(tmp_path / "t.parquet")["condition"].tolist()[:3] == ["=HYPERLINK(\"x\")", "+1", "-cmd"]
    numbers = frame[["number"]]
    assert defuse_formulas(numbers) is numbers, "a table without text columns is written as it is"
    carriage = defuse_formulas(pd.DataFrame({"c": ["\rx", "x\r"]}))
    assert carriage["c"].tolist() == ["'\rx", "x\r"]


def test_batch_tables_quote_formula_names_in_csv_only(tiny_batch):
    csv = pd.read_csv(tiny_batch / "summary.csv")
    parquet = pd.read_parquet(tiny_batch / "summary.parquet")
    assert set(csv["condition"]) == {"vehicle", "'=ket$^$"}
    assert set(parquet["condition"]) == {"vehicle", "=ket$^$"}
    assert set(csv["scenario"]) == {"net$^$work"}, "text that does not start like a formula is unchanged"
    pd.testing.assert_series_equal(csv["rate_glu_hz"], parquet["rate_glu_hz"], check_exact=False, rtol=1e-9)
