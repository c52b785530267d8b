"""Text from the user (experiment, scenario and condition names, descriptions, paths) drawn by matplotlib as typed.

Matplotlib reads a text with an even number of unescaped ``$`` as mathtext
(``"a$^$b"`` fails to draw, ``"$x$"`` is drawn in italics); mathtext's other
specials (``^ _ \\ { }``) act only between two ``$``. :func:`plain` escapes
every ``$`` (matplotlib draws ``\\$`` as ``$``), so user text is never mathtext.
Every title, label, tick label and legend entry built from user text goes
through it; the figures' own texts use no mathtext.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DOLLAR = re.compile(r"(?<!\\)\$")


def plain(text: object) -> str:
    """``text`` with every ``$`` that is not already escaped written ``\\$`` (drawn as a plain ``$``)."""
    return _DOLLAR.sub(r"\\$", str(text))


def plain_all(texts: Iterable[object]) -> list[str]:
    """:func:`plain` of each text (tick labels, legend entries)."""
    return [plain(t) for t in texts]
