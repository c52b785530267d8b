"""examples/notebook.ipynb runs from a working directory outside the repository, every cell without error."""

from __future__ import annotations

import shutil

import nbformat
from helpers import ROOT
from nbclient import NotebookClient

NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def test_the_notebook_runs_outside_the_repository(tmp_path):
    copy = tmp_path / "notebook.ipynb"
    shutil.copy(NOTEBOOK, copy)
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()   # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "ketamine 10 µM" in shown and "normal" in shown      # the summary and the batch table were shown
    assert any("image/png" in o.get("data", {}) for o in outputs)   # the figure was drawn
