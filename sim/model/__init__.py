"""The model layer: the scenario schema and its files, the Mesa model and its agents, the mechanisms and the
compiled engine, the declared readouts, and the plain-Mesa reference model that specifies them.

It imports nothing from :mod:`sim.runs` or :mod:`analysis` (tests/test_imports.py).
"""
