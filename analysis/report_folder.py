"""The report of a results folder, whichever kind it is: a batch (:mod:`analysis.report`) or a sweep
(:mod:`analysis.sweep_report`).

    build_report(Path("results/my_batch"))      # or: python -m analysis.report_folder results/my_batch
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.report import build_batch_report
from analysis.sweep_report import build_sweep_report
from sim.runs.store import OutputError, read_manifest


def is_sweep_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a readable sweep manifest (anything else is reported as a batch folder)."""
    try:
        read_manifest(folder, "sweep")
    except OutputError:
        return False
    return True


def build_report(folder: Path) -> tuple[Path, Path]:
    """Write the folder's report (``report.html``, ``report.pdf`` and its tables); returns the two reports."""
    folder = Path(folder)
    return build_sweep_report(folder) if is_sweep_folder(folder) else build_batch_report(folder)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m analysis.report_folder BATCH_OR_SWEEP_FOLDER", file=sys.stderr)
        return 2
    try:
        html_path, pdf_path = build_report(Path(argv[0]))
    except OutputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {html_path} and {pdf_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
