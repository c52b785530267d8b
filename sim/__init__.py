"""Agent-based model (Mesa) of synaptic vesicle recycling; the Python interface is :mod:`sim.api` (docs/api.md)."""

from sim.api import (
    Results,
    Simulation,
    experiment_names,
    load_scenario,
    open_results,
    run_experiment,
    run_sweep,
    scenario_names,
    simulate,
    sweep_names,
)

__all__ = [
    "Results",
    "Simulation",
    "experiment_names",
    "load_scenario",
    "open_results",
    "run_experiment",
    "run_sweep",
    "scenario_names",
    "simulate",
    "sweep_names",
]
