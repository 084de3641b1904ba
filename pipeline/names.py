"""Names as people and file systems see them: one NFC key, one safe display form."""

from __future__ import annotations

import unicodedata


def nfc(name: str) -> str:
    """The comparison key for a name or relative path: NFC, so macOS (NFD) and Linux meet."""
    return unicodedata.normalize("NFC", name)


def printable(name: str) -> str:
    """A one-line form of a name for messages: control characters (newline, tab) made visible."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
