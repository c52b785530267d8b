"""An experiment's contrasts (declared in [[contrasts]], else derived from the drugs) and its drug factorial."""

from __future__ import annotations

import pytest
from helpers import ROOT, tiny_experiment

from sim.model.params import ScenarioError
from sim.model.scenario import load_scenario
from sim.runs.contrasts import default_contrasts, drugs_of, factorial
from sim.runs.experiment import load_experiment

FLAGSHIP = ROOT / "scenarios" / "experiments" / "normal_vs_depression.toml"
DEPRESSED = ROOT / "scenarios" / "depression_like.toml"
CONDITIONS = ("vehicle", "ketamine_10uM", "dpcpx", "ketamine_10uM_dpcpx")


def pairs(contrast: dict) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    return [((p["treatment"]["scenario"], p["treatment"]["condition"]),
             (p["reference"]["scenario"], p["reference"]["condition"])) for p in contrast["pairs"]]


def experiment(tmp_path, contrasts: str = "", conditions=CONDITIONS, two_scenarios: bool = True, **kw):
    text = tiny_experiment(conditions=conditions, **kw)
    if two_scenarios:
        text = text.replace('scenarios = [', f'scenarios = ["{DEPRESSED.as_posix()}", ', 1)
    path = tmp_path / "exp.toml"
    head, _, tail = text.partition("\n[scenario.network]")
    path.write_text(head + "\n" + contrasts + "\n[scenario.network]" + tail)
    return path


def test_the_flagship_compares_each_drug_combination_with_it_minus_one_drug():
    exp = load_experiment(FLAGSHIP)
    names = [c["name"] for c in exp.contrasts]
    assert "ketamine_10uM_dpcpx vs dpcpx" in names and "ketamine_10uM_dpcpx vs ketamine_10uM" in names
    assert "dpcpx vs vehicle" in names and "ketamine_1uM vs vehicle" in names
    assert "ketamine_10uM_dpcpx vs vehicle" not in names, "two drugs at once is not a one-drug contrast"
    by_name = {c["name"]: c for c in exp.contrasts}
    assert pairs(by_name["ketamine_10uM_dpcpx vs dpcpx"]) == [
        (("normal", "ketamine_10uM_dpcpx"), ("normal", "dpcpx")),
        (("depression_like", "ketamine_10uM_dpcpx"), ("depression_like", "dpcpx"))]
    assert by_name["ketamine_10uM_dpcpx vs dpcpx"]["drug"] == "ketamine_uM"
    scen = by_name["depression_like vs normal"]
    assert scen["source"] == "scenarios" and len(scen["pairs"]) == len(exp.conditions)
    assert exp.factorial == {"drugs": {"ketamine_uM": 10.0, "dpcpx_uM": 0.1},
                             "conditions": {"vehicle": [], "ketamine_10uM": ["ketamine_uM"], "dpcpx": ["dpcpx_uM"],
                                            "ketamine_10uM_dpcpx": ["ketamine_uM", "dpcpx_uM"]}}


def test_the_drugs_of_a_condition_come_from_its_concentrations():
    normal, _ = load_scenario(ROOT / "scenarios" / "normal.toml")
    assert drugs_of(normal, "vehicle") == {}
    assert drugs_of(normal, "ketamine_10uM_dpcpx") == {"ketamine_uM": 10.0, "dpcpx_uM": 0.1}
    ref = {"scenario": "normal", "condition": "vehicle"}
    derived = default_contrasts(normal, ["normal"], ["vehicle", "ketamine_1uM", "ketamine_10uM"], ref)
    assert [c["name"] for c in derived] == ["ketamine_1uM vs vehicle", "ketamine_10uM vs vehicle"]


def test_no_factorial_without_every_cell():
    normal, _ = load_scenario(ROOT / "scenarios" / "normal.toml")
    assert factorial(normal, ["vehicle", "ketamine_10uM", "ketamine_10uM_dpcpx"]) is None, "DPCPX alone missing"
    assert factorial(normal, ["vehicle", "ketamine_1uM", "dpcpx", "ketamine_10uM_dpcpx"]) is None, "doses differ"
    assert factorial(normal, ["vehicle", "ketamine_10uM", "ampa_antagonist", "ketamine_10uM_ampa_antagonist"]) == {
        "drugs": {"ketamine_uM": 10.0, "ampa_antagonist_uM": 10.0},
        "conditions": {"vehicle": [], "ketamine_10uM": ["ketamine_uM"], "ampa_antagonist": ["ampa_antagonist_uM"],
                       "ketamine_10uM_ampa_antagonist": ["ketamine_uM", "ampa_antagonist_uM"]}}


def test_declared_contrasts_pair_within_what_they_leave_out(tmp_path):
    declared = ('[[contrasts]]\ntreatment = { condition = "ketamine_10uM_dpcpx" }\n'
                'reference = { condition = "dpcpx" }\n'
                '[[contrasts]]\nname = "depressed"\ntreatment = { scenario = "depression_like" }\n'
                'reference = { scenario = "normal" }\n'
                '[[contrasts]]\ntreatment = { scenario = "depression_like", condition = "ketamine_10uM" }\n'
                'reference = { scenario = "normal", condition = "vehicle" }\n')
    exp = load_experiment(experiment(tmp_path, declared))
    first, second, third = exp.contrasts
    assert first["name"] == "ketamine_10uM_dpcpx vs dpcpx" and first["source"] == "declared"
    assert pairs(first) == [(("depression_like", "ketamine_10uM_dpcpx"), ("depression_like", "dpcpx")),
                            (("normal", "ketamine_10uM_dpcpx"), ("normal", "dpcpx"))]
    assert second["name"] == "depressed"
    assert pairs(second) == [(("depression_like", c), ("normal", c)) for c in CONDITIONS]
    assert pairs(third) == [(("depression_like", "ketamine_10uM"), ("normal", "vehicle"))]


def test_a_quick_variant_keeps_the_pairs_it_runs(tmp_path):
    declared = ('quick = { conditions = ["vehicle", "ketamine_10uM"] }\n'
                '[[contrasts]]\ntreatment = { condition = "ketamine_10uM_dpcpx" }\n'
                'reference = { condition = "dpcpx" }\n'
                '[[contrasts]]\ntreatment = { condition = "ketamine_10uM" }\nreference = { condition = "vehicle" }\n')
    exp = load_experiment(experiment(tmp_path, declared, two_scenarios=False), quick=True)
    assert [c["name"] for c in exp.contrasts] == ["ketamine_10uM vs vehicle"]
    assert exp.factorial is None


@pytest.mark.parametrize("declared, fragment", [
    ('contrasts = "all"\n', "contrasts: expected a non-empty list"),
    ('[[contrasts]]\ntreatment = { condition = "ketamine_10uM" }\n', "contrasts[0].reference: expected a table"),
    ('[[contrasts]]\ntreatment = { condition = "ketamine_10um" }\nreference = { condition = "vehicle" }\n',
     "contrasts[0].treatment.condition: 'ketamine_10um' is not one of the experiment's conditions (did you mean "
     "'ketamine_10uM'?)"),
    ('[[contrasts]]\ntreatment = { condition = "dpcpx", drug = "x" }\nreference = { condition = "vehicle" }\n',
     "contrasts[0].treatment.drug: unknown key"),
    ('[[contrasts]]\ntreatment = { condition = "dpcpx" }\nreference = { condition = "dpcpx" }\n',
     "contrasts[0]: treatment and reference are the same group"),
    ('[[contrasts]]\ntreatment = { condition = "dpcpx" }\nreference = { condition = "vehicle" }\nname = 3\n',
     "contrasts[0].name: expected a non-empty text"),
    ('[[contrasts]]\ntreatment = { condition = "dpcpx" }\nreference = { condition = "vehicle" }\nversus = 1\n',
     "contrasts[0].versus: unknown key"),
])
def test_bad_contrasts_name_the_key(tmp_path, declared, fragment):
    with pytest.raises(ScenarioError) as err:
        load_experiment(experiment(tmp_path, declared))
    assert fragment in str(err.value) and str(tmp_path / "exp.toml") in str(err.value)
