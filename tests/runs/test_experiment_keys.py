"""docs/experiments.md lists every key of an experiment file, is up to date, and each of its examples loads."""

from __future__ import annotations

import importlib.util

import pytest
from helpers import ROOT

from sim.runs import experiment_keys
from sim.runs.experiment import EXPERIMENT_KEYS, load_experiment

GENERATOR = ROOT / "docs" / "make_experiment_keys.py"
BASE = {k.name: k.example for k in experiment_keys.EXPERIMENT if k.name in experiment_keys.REQUIRED}


def generator():
    spec = importlib.util.spec_from_file_location("make_experiment_keys", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_up_to_date_and_lists_every_key_the_loader_accepts():
    page = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    assert page == generator().render(), "docs/experiments.md is stale: run python docs/make_experiment_keys.py"
    assert EXPERIMENT_KEYS == experiment_keys.NAMES
    for key in EXPERIMENT_KEYS:
        assert f"| `{key}` |" in page and f"### `{key}`" in page


def experiment_text(key: experiment_keys.Key) -> str:
    """The required keys' examples and ``key``'s; top-level lines before tables, as TOML wants."""
    lines = {**BASE, key.name: key.example}
    top = [text for text in lines.values() if not text.startswith("[")]
    tables = [text for text in lines.values() if text.startswith("[")]
    return "\n".join([*top, "", *tables]) + "\n"


@pytest.mark.parametrize("key", experiment_keys.EXPERIMENT, ids=lambda k: k.name)
def test_every_example_loads(tmp_path, key):
    folder = tmp_path / "experiments"          # the examples' paths are relative to scenarios/experiments/
    folder.mkdir()
    for name in ("normal", "depression_like"):
        (tmp_path / f"{name}.toml").write_text((ROOT / "scenarios" / f"{name}.toml").read_text(encoding="utf-8"))
    path = folder / f"{key.name}.toml"
    path.write_text(experiment_text(key), encoding="utf-8")
    exp = load_experiment(path, quick=key.name == "quick")
    assert exp.runs(), "the example describes runs"
    if key.name == "contrasts":
        assert [c["name"] for c in exp.contrasts] == ["ketamine under A1 block"]
    if key.name == "levels":
        assert exp.levels == {"vesicles.glutamatergic.endocytosis_tau_s": [10.0, 20.0]}


def test_a_readout_typo_is_refused_without_building_a_model(tmp_path, monkeypatch):
    """Readouts are checked against the declared summary metrics: no simulation is built or run to know them."""
    from sim.model.model import SynapseNetworkModel
    from sim.model.params import ScenarioError

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built while checking the experiment file")

    monkeypatch.setattr(SynapseNetworkModel, "__init__", refuse)
    path = tmp_path / "typo.toml"
    path.write_text(experiment_text(experiment_keys.EXPERIMENT[0]).replace(
        'master_seed = 2021', 'master_seed = 2021\nreadouts = ["rate_glu_hzz"]').replace("../", f"{ROOT}/scenarios/"))
    with pytest.raises(ScenarioError, match=r"readouts: 'rate_glu_hzz' is not a summary metric \(did you mean "
                                            r"'rate_glu_hz'\?\)"):
        load_experiment(path)
