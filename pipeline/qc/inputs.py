"""Which files a QC run checks: files as given, folders searched recursively for media."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.assets import Kind
from pipeline.errors import UserInputError
from pipeline.names import nfc

# Finder, AppleDouble and Windows litter: never media, even with a media extension.
_LITTER = {".DS_Store", "Thumbs.db", "desktop.ini"}


def gather(
    paths: Iterable[str | os.PathLike[str]], keep: Callable[[Path], bool], what: str
) -> list[Path]:
    """Input files in a stable order: each file as given (a bad one gets its own error
    later), each folder's files that `keep` accepts, recursively and sorted by name, each
    once. A folder with none of `what` in it is an error before any work starts."""
    from pipeline.probe import iter_files

    out: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        found = [f for f in iter_files([p]) if keep(f)] if p.is_dir() else [p]
        if p.is_dir() and not found:
            raise UserInputError(
                f"{p}: no {what} in this folder (searched recursively)",
                path=p,
                hint="give the folder that holds them, or the files themselves",
            )
        for f in found:
            key = os.path.abspath(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def media_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files to QC: audio and video files, folders searched recursively."""
    return gather(paths, is_media, "audio or video files")


def is_media(path: Path) -> bool:
    """Audio or video by its extension; for an unknown extension, by what MediaInfo finds.

    Sidecars (XML, XMP, MHL...), photos, hidden files (`._clip.mov`, `.DS_Store`) are not.
    A dangling link named like a clip is kept: the user hears that it is broken.
    """
    from pipeline.probe import classify

    name = nfc(path.name)
    if name.startswith(".") or name in _LITTER:
        return False
    kind = classify(path)
    if kind in (Kind.VIDEO, Kind.AUDIO):
        return True
    if kind is not Kind.OTHER or not path.is_file():
        return False
    return _mediainfo_says_av(path)


def _mediainfo_says_av(path: Path) -> bool:
    try:
        from pymediainfo import MediaInfo

        info = MediaInfo.parse(str(path))
    except Exception:  # not readable as media: not ours to check
        return False
    return bool(info.video_tracks or info.audio_tracks)
