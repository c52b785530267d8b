#!/usr/bin/env python3
"""Command line of the vesicle-recycling network model.

    python run.py simulate SCENARIO.toml [--condition NAME] [--set key=value ...] [--seed N] [--out DIR] [--threads N]
    python run.py batch EXPERIMENT.toml --out DIR [--workers N] [--backend local|dask] [--scheduler ADDR] [--resume]
    python run.py sweep SWEEP.toml --out DIR [--quick] [same execution options as batch]
    python run.py report DIR
    python run.py reproduce DIR [--runs K]
    python run.py validate [--quick] [--out DIR] [--seed N] [--workers N]
    python run.py calibrate CALIBRATION.toml --out DIR [--quick] [same execution options as batch]

Bad input (unknown key, wrong type, out-of-range value, missing file, unknown
condition) prints one line naming the file, key and what is allowed, and
exits with code 2; nothing is written. So does a size above the limits of
sim/model/limits.py (neurons, steps, runs, workers, ...), unless --allow-large, and
an error of the operating system (an --out that cannot be written, a full
disk): one line naming the path and the reason. After Ctrl-C one line says
what was kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NoReturn

from sim.model.limits import add_option as add_allow_large
from sim.model.limits import check_command_line
from sim.model.params import ScenarioError
from sim.runs import interruption
from sim.runs.command_lock import command_lock
from sim.runs.command_lock import validate_folder as validate_out_folder
from sim.runs.executors import BACKENDS
from sim.runs.oserrors import check_writable, describe
from sim.runs.outputs import OutputError

EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit code 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="run.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="run one scenario under one drug condition")
    sim.add_argument("scenario", type=Path, help="scenario TOML file (e.g. scenarios/normal.toml)")
    sim.add_argument("--condition", default="vehicle", help="drug condition defined in the scenario (default: vehicle)")
    sim.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario key, e.g. vesicles.glutamatergic.release_probability=0.4")
    sim.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's seed)")
    sim.add_argument("--out", type=Path, default=None,
                     help="output folder (default: results/simulate/SCENARIO-CONDITION-seedN)")
    sim.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    sim.add_argument("--threads", type=int, default=None,
                     help="threads that step the network (default: all cores); results do not depend on it")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")

    batch = commands.add_parser("batch", help="run an experiment: scenarios x conditions x levels x replicates")
    batch.add_argument("experiment", type=Path, help="experiment TOML file (scenarios/experiments/*.toml)")
    batch.add_argument("--out", type=Path, required=True, help="output folder")
    add_execution_options(batch)

    sweep = commands.add_parser("sweep", help="run a parameter sweep and its sensitivity analysis")
    sweep.add_argument("sweep", type=Path, help="sweep TOML file (scenarios/sweeps/*.toml)")
    sweep.add_argument("--out", type=Path, required=True, help="output folder")
    sweep.add_argument("--quick", action="store_true", help="the file's reduced variant (its quick table)")
    add_execution_options(sweep)

    report = commands.add_parser("report", help="figures, tables, methods and manifest of a batch or sweep folder")
    report.add_argument("folder", type=Path, help="batch or sweep output folder")

    val = commands.add_parser("validate", help="findings 1-10 of docs/science.md (section 3) as a pass/fail table "
                                               "(exit code 1 if any fails)")
    val.add_argument("--quick", action="store_true",
                     help="smaller networks and fewer replicates (the experiments' quick variants)")
    val.add_argument("--out", type=Path, default=None,
                     help="output folder (default: results/validate or results/validate-quick); resumed if it exists")
    val.add_argument("--seed", type=int, default=None,
                     help="master seed: experiment i (in run order) gets N + i (default: each file's master_seed)")
    val.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    val.add_argument("--quiet", action="store_true", help="no progress bars")

    cal = commands.add_parser("calibrate", help="fit free parameters to targets (an experiment run as one batch "
                                                "per evaluation; docs/calibration.md)")
    cal.add_argument("calibration", type=Path, help="calibration TOML file (scenarios/calibration/*.toml)")
    cal.add_argument("--out", type=Path, required=True,
                     help="output folder: calibration.json, calibration.md, evaluations.csv, evaluations/")
    cal.add_argument("--quick", action="store_true",
                     help="the file's reduced variant (its quick table and the experiment's quick variant)")
    add_execution_options(cal)

    rep = commands.add_parser("reproduce", help="re-run a batch from its manifest and check outputs match exactly")
    rep.add_argument("folder", type=Path, help="batch output folder")
    rep.add_argument("--runs", type=int, default=None, metavar="K", help="re-run K runs chosen at random")
    rep.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    for name in ("simulate", "batch", "sweep", "validate", "calibrate", "reproduce"):
        add_allow_large(commands.choices[name])
    return parser


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by batch and sweep."""
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores); with --scheduler the cluster's own workers")
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="where runs execute: local processes, or Dask (a local cluster, or --scheduler)")
    parser.add_argument("--scheduler", default=None, metavar="ADDR",
                        help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (--backend dask)")
    parser.add_argument("--resume", action="store_true",
                        help="finish an interrupted batch (or calibration) in --out, reusing what is done")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (no line per evaluation)")


def simulate(args: argparse.Namespace, argv: list[str]) -> int:
    """Run one scenario and write manifest, time series, pulses, summary and figures."""
    from analysis.figures import plot_run
    from sim.model.model import SynapseNetworkModel, resolve_threads
    from sim.model.params import ScenarioError
    from sim.model.readouts import run_results
    from sim.model.scenario import load_raw, load_scenario, scenario_hash
    from sim.runs.estimate import announce_run
    from sim.runs.folders import simulate_folder
    from sim.runs.outputs import check_new_output, run_manifest, staged_output, utc_now, write_json, write_table

    threads = resolve_threads(args.threads, "--threads")
    scenario, merged = load_scenario(args.scenario, args.overrides, args.seed, args.allow_large)
    try:
        scenario.condition(args.condition)
    except ScenarioError as err:
        raise ScenarioError(f"{args.scenario}: --condition: {err}") from None
    out = args.out or simulate_folder(args.scenario, scenario.name, args.condition, scenario.seed)
    check_new_output(out, args.overwrite)
    announce_run(scenario, str(args.scenario), args.allow_large)
    started, clock = utc_now(), time.perf_counter()
    model = SynapseNetworkModel(scenario, args.condition, threads=threads)
    print(f"{scenario.name} / {args.condition}: {model.connectivity.n_neurons} neurons, "
          f"{model.connectivity.n_synapses} synapses, {scenario.protocol.duration_s:g} s at "
          f"dt = {scenario.protocol.dt_ms:g} ms, seed {scenario.seed}, {model.parallel_threads} thread(s)",
          file=sys.stderr)
    model.run(progress=not args.quiet)
    results = run_results(model)
    ts, pulses = results["timeseries"], results["pulses"]
    summary = {"scenario": scenario.name, "condition": args.condition, "seed": scenario.seed, **results["summary"]}
    with staged_output(out, args.overwrite) as stage:
        write_table(stage / "timeseries.parquet", ts)
        if model.protocol.n_pulses:
            write_table(stage / "pulses.parquet", pulses)
        summary_frame = _frame([summary])
        write_table(stage / "summary.csv", summary_frame)
        write_table(stage / "summary.parquet", summary_frame)
        plot_run(ts, pulses, scenario.protocol.warmup_s, stage)
        files = load_raw(args.scenario)[1]
        write_json(stage / "manifest.json", run_manifest(argv, files, merged, scenario_hash(merged),
                                                         args.condition, scenario.seed, started))
    elapsed = time.perf_counter() - clock
    print(f"wrote {out} in {elapsed:.1f} s: glutamatergic {summary['rate_glu_hz']:.2f} Hz, "
          f"GABAergic {summary['rate_gaba_hz']:.2f} Hz, ambient glutamate "
          f"{summary['ambient_glutamate_uM'] * 1000:.1f} nM, adenosine {summary['adenosine_uM']:.3f} µM")
    return 0


def batch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run an experiment into a batch folder; exit code 1 if any run failed."""
    from sim.runs.experiment import load_experiment

    _check_execution_options(args)
    return _run_and_report(load_experiment(args.experiment, allow_large=args.allow_large), args, argv)


def sweep(args: argparse.Namespace, argv: list[str]) -> int:
    """Run a sweep into a folder, then write sweep.parquet, sensitivity.csv and figures; exit 1 if a run failed."""
    from analysis.sensitivity import console_lines, write_sweep_outputs
    from sim.runs.store import write_sweep_table
    from sim.runs.sweep import load_sweep

    _check_execution_options(args)
    code = _run_and_report(load_sweep(args.sweep, quick=args.quick, allow_large=args.allow_large), args, argv)
    write_sweep_table(args.out)
    analysis = write_sweep_outputs(args.out)
    for line in console_lines(analysis):
        print(line)
    return code


def _check_execution_options(args: argparse.Namespace) -> None:
    if args.scheduler is not None and args.backend != "dask":
        raise OutputError(f"--scheduler {args.scheduler}: only used with --backend dask")
    if args.scheduler is not None:
        from sim.runs.dask_address import check_address

        check_address(args.scheduler)


def _run_and_report(exp, args: argparse.Namespace, argv: list[str]) -> int:
    """Run a batch or sweep with the execution options; print the counts; 1 if any run failed."""
    from sim.runs.batch import run_batch
    from sim.runs.estimate import announce_batch

    announce_batch(exp, args.out, args.workers, args.resume, args.scheduler, args.allow_large)
    interruption.keep_runs(args.out, "rerun with --resume to finish")
    outcome = run_batch(exp, args.out, argv, workers=args.workers, resume=args.resume, backend=args.backend,
                        scheduler=args.scheduler, progress=not args.quiet)
    print(f"{args.out}: {outcome.done} runs done, {outcome.skipped} already done, {outcome.failed} failed "
          f"(of {outcome.total})")
    if outcome.failed:
        print(f"{outcome.failed} run(s) failed: see {args.out}/runs/*/error.json; "
              f"rerun with --resume to retry them", file=sys.stderr)
        return 1
    return 0


def validate(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the validation experiments (resumable), then write and print the table; exit 1 if a finding fails."""
    from analysis.validate_outputs import console_table, write_outputs
    from analysis.validation_findings import evaluate
    from analysis.validation_measures import EXPERIMENTS, ValidationData
    from sim.model.packaged import VALIDATION_DIR
    from sim.runs import validate_folder
    from sim.runs.batch import run_batches
    from sim.runs.experiment import load_experiment
    from sim.runs.folders import check_folder_name
    from sim.runs.outputs import utc_now

    out = validate_out_folder(args)
    validate_folder.check_folder(out, EXPERIMENTS)
    clock, started = time.perf_counter(), utc_now()
    experiments = [load_experiment(VALIDATION_DIR / f"{name}.toml", quick=args.quick,
                                   master_seed=None if args.seed is None else args.seed + i,
                                   allow_large=args.allow_large)
                   for i, name in enumerate(EXPERIMENTS)]
    for exp in experiments:
        check_folder_name(exp.name, f"{exp.path}: name")
    jobs = [(exp, out / exp.name, _check_resumable(out / exp.name, exp)) for exp in experiments]
    validate_folder.mark_folder(out, argv, args.quick)
    interruption.keep_runs(out, "rerun the same command to finish")
    _load_engine()
    outcomes = run_batches(jobs, argv, workers=args.workers, progress=not args.quiet, desc="validate")
    failed = sum(o.failed for o in outcomes)
    if failed:
        print(f"{failed} run(s) failed: see {out}/*/runs/*/error.json; rerun the same command to retry them",
              file=sys.stderr)
        return 1
    data = ValidationData(out)
    rows = evaluate(data)
    runs = sum(len(e.runs()) for e in experiments)
    header = {"command": " ".join(["run.py", *argv]), "mode": "quick" if args.quick else "full",
              "master seeds": ", ".join(f"{e.name} {e.master_seed}" for e in experiments),
              "runs": str(runs), "started (UTC)": started,
              "wall time": f"{time.perf_counter() - clock:.0f} s (simulations and analysis, this invocation)"}
    write_outputs(out, rows, data, header)
    print(console_table(rows))
    print(f"wrote {out / 'validation.md'}, {out / 'validation.csv'} and {out / 'figures'} "
          f"in {time.perf_counter() - clock:.0f} s")
    return 1 if (rows["result"] == "FAIL").any() else 0


def calibrate(args: argparse.Namespace, argv: list[str]) -> int:
    """Fit the calibration's parameters, profile them, write calibration.json/.md and evaluations.csv;
    exit 1 if a run failed."""
    from analysis.calibration_fit import fit, profiles
    from analysis.calibration_objective import EvaluationStore
    from analysis.calibration_outputs import write_outputs
    from analysis.validation_measures import run_measurements
    from sim.runs.calibration import load_calibration
    from sim.runs.calibration_runs import EvaluationRunner, open_folder
    from sim.runs.outputs import utc_now

    _check_execution_options(args)
    clock, started = time.perf_counter(), utc_now()
    cal = load_calibration(args.calibration, quick=args.quick, measures=tuple(run_measurements()),
                           allow_large=args.allow_large)
    open_folder(args.out, cal, argv, args.resume)
    interruption.keep_runs(args.out, "rerun with --resume to finish")
    runner = EvaluationRunner(cal, args.out, argv, args.workers, args.backend, args.scheduler)
    store = EvaluationStore(cal, runner, not args.quiet)
    try:
        result = fit(cal, store)
        profile = profiles(cal, store.evaluate, result)
    except BaseException:
        store.close(cancel=True)
        raise
    store.close()
    header = {"command": " ".join(["run.py", *argv]), "started_utc": started,
              "wall time": f"{time.perf_counter() - clock:.0f} s (this invocation)"}
    record = write_outputs(args.out, cal, store, result, profile, header)
    fitted = ", ".join(f"{p['key']} = {p['fitted']:.6g}" for p in record["parameters"])
    ev = record["evaluations"]
    print(f"{cal.name}: objective {record['objective']:.4g} at {fitted}")
    for t in record["targets"]:
        print(f"  {t['name']}: wanted {t['value']:g} ± {t['sd']:g}, measured {t['measured']:.4g} "
              f"(z = {t['standardised_error']:+.2f})")
    for p in profile:
        print(f"  {p.key}: {p.note}")
    print(f"wrote {args.out / 'calibration.json'}, calibration.md and evaluations.csv: {ev['total']} evaluations "
          f"({ev['batches_run']} batches run, {ev['reused']} reused) in {time.perf_counter() - clock:.0f} s")
    if ev["failed_runs"]:
        print(f"{ev['failed_runs']} run(s) failed: see {args.out}/evaluations/*/runs/*/error.json",
              file=sys.stderr)
        return 1
    return 0


def _load_engine() -> None:
    """Import the model and load its compiled kernels once, before worker processes fork (saves each its start)."""
    from sim.model.model import SynapseNetworkModel
    from sim.model.packaged import VALIDATION_DIR
    from sim.model.scenario import load_scenario

    scenario, _ = load_scenario(VALIDATION_DIR.parents[1] / "normal.toml",
                                ["network.n_neurons=200", "protocol.duration_s=0.02", "protocol.warmup_s=0.0"])
    SynapseNetworkModel(scenario).run()


def _check_resumable(folder: Path, exp) -> bool:
    """Whether ``folder`` holds a batch of exactly ``exp``'s runs (resume it); another batch is an error."""
    from sim.runs.folders import has_content
    from sim.runs.store import MANIFEST, read_manifest

    if not (folder / MANIFEST).is_file():
        if has_content(folder):
            raise OutputError(f"{folder}: exists and is not a batch folder of the validation; choose another --out")
        return False
    stored = [(r.get("key"), r.get("seed")) for r in read_manifest(folder).get("runs", [])]
    if stored != [(r.key, r.seed) for r in exp.runs()]:
        raise OutputError(f"{folder}: holds the runs of another validation (--quick, --seed or the experiment "
                          f"file differ); choose another --out or delete the folder")
    return True


def report(args: argparse.Namespace, argv: list[str]) -> int:
    """Write DIR/report.html and DIR/report.pdf (and statistics.csv or sensitivity.csv) for a batch or sweep."""
    from analysis.report_folder import build_report
    from sim.runs.store import rebuild_tables

    interruption.keep_partial(args.folder, "rerun report to finish the report")
    rebuild_tables(args.folder)   # summary.parquet (and sweep.parquet) as the runs on disk give them
    html, pdf = build_report(args.folder)
    print(f"wrote {html} and {pdf}")
    return 0


def reproduce(args: argparse.Namespace, argv: list[str]) -> int:
    """Re-run runs of a batch folder; exit code 1 if any output differs."""
    import random

    from sim.runs.batch import reproduce_batch
    from sim.runs.store import MANIFEST, check_tables, manifest_specs, read_manifest

    if args.workers is not None and args.workers < 1:
        raise OutputError(f"--workers {args.workers}: allowed: 1 or more")
    run_ids = None
    if args.runs is not None:
        if args.runs < 1:
            raise OutputError(f"--runs {args.runs}: allowed: 1 or more")
        all_ids = [s.run_id for s in manifest_specs(read_manifest(args.folder), args.folder / MANIFEST)]
        run_ids = sorted(random.SystemRandom().sample(all_ids, min(args.runs, len(all_ids))))
    checks = reproduce_batch(args.folder, run_ids, workers=args.workers, progress=not args.quiet)
    for check in checks:
        state = "match" if check.matches else "MISMATCH in " + ", ".join(check.differing)
        print(f"{check.run_id}: {state}")
    bad = [c for c in checks if not c.matches]
    tables = check_tables(args.folder)
    for table in tables:
        print(table.line)
    print(f"{len(checks) - len(bad)} of {len(checks)} runs reproduced bit for bit")
    return 1 if bad or not all(t.matches for t in tables) else 0


def _frame(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:   # --help, or a one-line usage error (OneLineParser)
        return done.code if isinstance(done.code, int) else EXIT_BAD_INPUT
    commands = {"simulate": simulate, "batch": batch, "sweep": sweep, "report": report, "reproduce": reproduce,
                "validate": validate, "calibrate": calibrate}
    interruption.forget()
    try:
        if getattr(args, "out", None) is not None:
            check_writable(args.out)      # before anything is loaded or simulated
        check_command_line(args)
        with command_lock(args, argv):
            return commands[args.command](args, argv)
    except (ScenarioError, OutputError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:                # disk full, permissions...: the environment, not the model
        print(f"error: {describe(err, getattr(args, 'out', None) or getattr(args, 'folder', None))}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(interruption.message(), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
