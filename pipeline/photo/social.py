"""Social media deliveries: the crops (the export presets `social-4x5`, `social-1x1`,
`social-9x16`, made by `pipeline.photo.batch`) and, next to them, one captions file per photo
with the caption, the credit and hashtags made from the keywords.

The caption is the photo's own (XMP/IPTC Description, else Title), else the rights template's
description; keywords are the photo's plus the template's. A hashtag keeps letters (accents
too), digits and '_' (`Les Quais` -> `#LesQuais`); a keyword of digits only is dropped (no
platform links it); at most 30 (Instagram's limit), in the keywords' order.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.fsutil import atomic_write_text
from pipeline.names import printable
from pipeline.photo.shotinfo import CaptureInfo, read_capture
from pipeline.rights.template import FileContext, RightsTemplate, expand, load_template

SOCIAL_PRESETS = ("social-4x5", "social-1x1", "social-9x16")
MAX_HASHTAGS = 30


class SocialPost(BaseModel):
    source: str
    captions: str | None = None  # the captions file
    caption: str = ""
    credit: str = ""
    hashtags: list[str] = Field(default_factory=list)
    crops: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


def hashtag(keyword: str) -> str | None:
    """'Les Quais' -> '#LesQuais', 'été' -> '#été', '2026' -> None."""
    words = "".join(c if (c.isalnum() or c == "_") else " " for c in keyword).split()
    tag = "".join(w[:1].upper() + w[1:] if len(words) > 1 else w for w in words)
    tag = unicodedata.normalize("NFC", tag)
    if not tag or tag.isdigit():
        return None
    return f"#{tag}"


def hashtags(keywords: Sequence[str], limit: int = MAX_HASHTAGS) -> list[str]:
    seen: dict[str, str] = {}
    for kw in keywords:
        tag = hashtag(kw)
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())[:limit]


def compose(path: Path, info: CaptureInfo, rights: RightsTemplate | None) -> SocialPost:
    """Caption, credit and hashtags of one photo."""
    caption = info.caption or info.title or ""
    credit = info.credit or ""
    keywords = list(info.keywords)
    if rights is not None:
        caption = caption or rights.description or rights.title or ""
        credit = credit or rights.credit_line or rights.copyright_notice or ""
        keywords += rights.keywords
    if not credit and info.creator:
        credit = f"© {info.creator}"
    return SocialPost(
        source=str(path),
        caption=caption or path.stem,
        credit=credit,
        hashtags=hashtags(keywords),
    )


def captions_text(post: SocialPost) -> str:
    parts = [post.caption]
    if post.credit:
        parts.append(f"📷 {post.credit}")
    if post.hashtags:
        parts.append(" ".join(post.hashtags))
    return "\n\n".join(parts) + "\n"


def _crops(paths: list[Path], out: Path, presets: Sequence[str], rights: RightsTemplate | None,
           force: bool, posts: dict[Path, SocialPost]) -> None:  # fmt: skip
    """The crops through the export presets; each failure is that photo's error."""
    from pipeline.photo.batch import export_batch
    from pipeline.photo.presets import load_preset

    for name in presets:
        preset = load_preset(name)
        for res in export_batch(paths, preset, out, template=rights, force=force):
            post = posts[Path(res.source)]
            if res.output:
                post.crops.append(res.output)
            if res.error:
                post.errors.append(f"{name}: {res.error}")


def social(
    sources: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    rights: str | os.PathLike[str] | None = None,
    presets: Sequence[str] = SOCIAL_PRESETS,
    crops: bool = True,
    force: bool = False,
) -> list[SocialPost]:
    """Crops and a `<stem>.caption.txt` per photo in `out_dir`; per-photo errors in the result."""
    paths = [Path(s) for s in sources]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    template = load_template(rights) if rights is not None else None
    infos = read_capture(paths)
    posts: dict[Path, SocialPost] = {}
    for seq, path in enumerate(paths, 1):
        info = infos[path]
        t = expand(template, FileContext(path, seq=seq, camera=info.camera)) if template else None
        posts[path] = compose(path, info, t)
    if crops and paths:
        _crops(paths, out, presets, template, force, posts)
    for path, post in posts.items():
        name = "".join(c if c.isprintable() and c != "/" else "_" for c in path.stem)
        target = out / f"{name}.caption.txt"
        try:
            atomic_write_text(target, captions_text(post), overwrite=force)
            post.captions = str(target)
        except Exception as exc:  # an existing captions file, a full disk: this photo's error
            post.errors.append(f"{printable(str(target))}: {exc}")
    return list(posts.values())
