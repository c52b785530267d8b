"""The output folder each ``run.py`` command writes, locked while the command runs (:mod:`sim.runs.folder_lock`)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from sim.runs.folder_lock import check_not_in_use, folder_lock

VALIDATE_FOLDERS = {False: Path("results/validate"), True: Path("results/validate-quick")}   # by --quick


def validate_folder(args: argparse.Namespace) -> Path:
    """``run.py validate``'s folder: ``--out``, or ``results/validate`` (``results/validate-quick``)."""
    return args.out or VALIDATE_FOLDERS[bool(args.quick)]


def written_folder(args: argparse.Namespace) -> tuple[Path, bool] | None:
    """The folder a command writes into and whether the command may create it; None for a command that writes
    no shared folder (simulate stages its own; reproduce only reads)."""
    if args.command in ("batch", "sweep", "calibrate"):
        return args.out, not args.resume
    if args.command == "validate":
        return validate_folder(args), True
    if args.command == "report":
        return args.folder, False
    return None


@contextlib.contextmanager
def command_lock(args: argparse.Namespace, argv: list[str]) -> Iterator[None]:
    """Hold the lock of the command's folder while it runs; ``reproduce`` refuses a folder being written."""
    if args.command == "reproduce":
        check_not_in_use(args.folder)
    target = written_folder(args)
    if target is None:
        yield
        return
    with folder_lock(target[0], " ".join(["run.py", *argv]), create=target[1]):
        yield
