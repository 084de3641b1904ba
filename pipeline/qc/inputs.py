"""Which files a QC run checks: files as given, folders searched recursively for media."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pipeline.assets import Kind
from pipeline.errors import UserInputError
from pipeline.names import nfc

# Finder, AppleDouble and Windows litter: never media, even with a media extension.
_LITTER = {".DS_Store", "Thumbs.db", "desktop.ini"}


def media_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files to QC, in a stable order: each file as given (a bad one gets its own error
    result later), each folder's audio and video files, recursively and sorted by name.

    A folder with no audio or video in it is an error before any work starts.
    """
    from pipeline.probe import iter_files

    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [f for f in iter_files([p]) if is_media(f)]
            if not found:
                raise UserInputError(
                    f"{p}: no audio or video files in this folder (searched recursively)",
                    path=p,
                    hint="give the folder that holds the clips, or the files themselves",
                )
        else:
            found = [p]
        for f in found:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


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
