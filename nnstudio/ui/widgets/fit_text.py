"""Text that fits its room: a shorter wording rather than a word cut in half (issue 21, item 9).

Painted cards used to elide ("Fully connect…", "34.0 KB of w…"). Secondary text now takes the
longest of its wordings that fits whole (``fitted``), or nothing (the tooltip still has it);
main text (a card's title) is only elided as a last resort, and each time that happens it is
noted in ``ELIDED`` so a test can grab every tab and find what no longer fits.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

ELIDED: list[tuple[str, str]] = []  # (where, text) of main texts that had to be cut
_MAX_NOTED = 200


def short_forms(text: str) -> list[str]:
    """``text`` and shorter wordings of it: up to its first ":", ";", "," or " — ".

    >>> short_forms("Fully connected: each output sees every input")
    ['Fully connected: each output sees every input', 'Fully connected']
    """
    forms = [text]
    match = re.search(r"[:;,.]| — ", text)
    if match and match.start() > 0:
        forms.append(text[: match.start()].strip())
    return forms


def fitted(metrics, width: float, *candidates: str) -> str:
    """The first candidate that fits ``width`` whole, else ""."""
    for text in candidates:
        if metrics.horizontalAdvance(text) <= width:
            return text
    return ""


def main_text(metrics, text: str, width: float, where: str) -> str:
    """``text`` whole when it fits; else elided, and noted in ELIDED."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    if len(ELIDED) < _MAX_NOTED:
        ELIDED.append((where, text))
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width))
