"""The runs layer: experiment, sweep and calibration designs, the batch runner and its executors, and
:mod:`sim.runs.store`, the one module that writes and reads batch and sweep folders.

It imports the model layer (:mod:`sim.model`) and never :mod:`analysis` (tests/test_imports.py).
"""
