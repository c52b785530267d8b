"""The error of an output folder or of the environment, which ``run.py`` prints as one line (exit code 2).

Its own module, so that the folder, lock and writing modules can raise it without importing one another.
"""

from __future__ import annotations


class OutputError(ValueError):
    """An output folder cannot be used; the message says why and what to do."""
