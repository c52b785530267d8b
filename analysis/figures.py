"""Figures of one run: firing, vesicle pools, glutamate and adenosine, evoked release per pulse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.model.params import CELL_TYPES, SUFFIX  # noqa: E402
from sim.model.readout_table import CELL_LABELS, readout, unit_words  # noqa: E402

COLOURS = {"glu": "#c0392b", "gaba": "#2e86c1"}
#: cell-type suffix -> readable name (of the readout table)
LABELS = {SUFFIX[kind]: CELL_LABELS[kind] for kind in CELL_TYPES}
POOL_COLOURS = {"rrp": "#1b9e77", "surface": "#d95f02", "recycling": "#7570b3", "reserve": "#bbbbbb"}
PNG_METADATA = {"Software": None}


def axis_label(column: str, unit: str | None = None, width: int = 28) -> str:
    """'firing rate (Hz)': the readout's label without the cell type and its printed unit (or ``unit``),
    wrapped to lines of at most ``width`` characters."""
    r = readout(column)
    name, unit = textwrap.fill(r.quantity_label, width), unit_words(r.unit) if unit is None else unit
    return f"{name} ({unit})" if len(name.split("\n")[-1]) + len(unit) + 3 <= width else f"{name}\n({unit})"


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(fig)


def _shade_warmup(ax: plt.Axes, warmup_s: float) -> None:
    if warmup_s > 0:
        ax.axvspan(0, warmup_s, color="0.92", zorder=0, label="warm-up")


def plot_activity(ts: pd.DataFrame, warmup_s: float, path: Path) -> None:
    """Firing rates and vesicle release by cell type."""
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    for t in ("glu", "gaba"):
        axes[0].plot(ts["time_s"], ts[f"rate_{t}_hz"].rolling(10, min_periods=1).mean(), color=COLOURS[t],
                     label=LABELS[t], lw=1)
        axes[1].plot(ts["time_s"], ts[f"released_{t}_per_s"].rolling(10, min_periods=1).mean(), color=COLOURS[t],
                     label=LABELS[t], lw=1)
    axes[0].set_ylabel(axis_label("rate_glu_hz"))
    axes[1].set_ylabel(axis_label("released_glu_per_s"))
    axes[1].set_xlabel("time (s)")
    for ax in axes:
        _shade_warmup(ax, warmup_s)
        ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def plot_pools(ts: pd.DataFrame, warmup_s: float, path: Path) -> None:
    """Vesicle pool composition of the average bouton of each cell type."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, t in zip(axes, ("glu", "gaba"), strict=False):
        pools = [ts[f"{p}_{t}"] for p in POOL_COLOURS]
        ax.stackplot(ts["time_s"], *pools, labels=[readout(f"{p}_{t}").quantity_label for p in POOL_COLOURS],
                     colors=list(POOL_COLOURS.values()))
        ax.set_title(f"{LABELS[t]} boutons")
        ax.set_xlabel("time (s)")
        if warmup_s > 0:
            ax.axvline(warmup_s, color="k", lw=0.8, ls="--")
    axes[0].set_ylabel(unit_words(readout("rrp_glu").unit))
    axes[1].legend(loc="lower right", fontsize=8)
    _save(fig, path)


def plot_glutamate_adenosine(ts: pd.DataFrame, warmup_s: float, path: Path) -> None:
    """Glutamate release, ambient glutamate, adenosine and A1 occupancy."""
    fig, axes = plt.subplots(4, 1, figsize=(8, 8), sharex=True)
    axes[0].plot(ts["time_s"], ts["glutamate_released_per_s"].rolling(10, min_periods=1).mean(), color="k", lw=1)
    axes[0].set_ylabel(axis_label("glutamate_released_per_s"))
    axes[1].plot(ts["time_s"], ts["ambient_glutamate_uM"] * 1000, color=COLOURS["glu"], lw=1)
    axes[1].set_ylabel(axis_label("ambient_glutamate_uM", "nM"))  # plotted x 1000
    axes[2].plot(ts["time_s"], ts["adenosine_uM"], color="#8e44ad", lw=1)
    axes[2].set_ylabel(axis_label("adenosine_uM"))
    for column, colour in (("a1_occupancy_glu", COLOURS["glu"]), ("release_probability_glu", "0.3")):
        axes[3].plot(ts["time_s"], ts[column], color=colour, lw=1, label=readout(column).quantity_label)
    axes[3].set_ylabel(f"{LABELS['glu']}\nterminals (0-1)")
    axes[3].legend(frameon=False, fontsize=8)
    axes[3].set_xlabel("time (s)")
    for ax in axes:
        _shade_warmup(ax, warmup_s)
    _save(fig, path)


def plot_pulses(pulses: pd.DataFrame, path: Path) -> None:
    """Vesicles released per stimulated bouton at each stimulation pulse, by cell type."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for t in ("glu", "gaba"):
        hit = pulses[pulses[f"n_stimulated_{t}"] > 0]
        if len(hit):
            ax.plot(hit["time_s"], hit[f"released_{t}"] / hit[f"n_stimulated_{t}"], "o-", ms=3,
                    color=COLOURS[t], label=LABELS[t])
    ax.set_xlabel("pulse time (s)")
    ax.set_ylabel(axis_label("evoked_release_glu_per_pulse"))
    ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def plot_run(ts: pd.DataFrame, pulses: pd.DataFrame, warmup_s: float, out_dir: Path) -> list[Path]:
    """All figures of one run, as PNG files in ``out_dir``; returns their paths."""
    paths = [out_dir / "activity.png", out_dir / "pools.png", out_dir / "glutamate_adenosine.png"]
    plot_activity(ts, warmup_s, paths[0])
    plot_pools(ts, warmup_s, paths[1])
    plot_glutamate_adenosine(ts, warmup_s, paths[2])
    if len(pulses):
        paths.append(out_dir / "pulses.png")
        plot_pulses(pulses, paths[-1])
    return paths
