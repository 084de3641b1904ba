"""A small registry of named QC checks: adding a check is one function and one decorator.

A check reads the measurements of the one decode pass (`Measured`) and the profile, and returns
findings. The profile decides which checks run (`enabled` returns False to skip) and with what
limits; a check never decodes media itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.profiles import Profile
from pipeline.qc.findings import Finding

if TYPE_CHECKING:
    from pipeline.qc.decode import DecodeStats, StreamLayout
    from pipeline.qc.picture import PictureAnalysis
    from pipeline.qc.sound import SoundAnalysis


@dataclass
class Measured:
    """Everything the decode pass measured, handed to every check."""

    layout: StreamLayout
    decode: DecodeStats
    picture: PictureAnalysis | None = None
    sound: SoundAnalysis | None = None
    asset: Any = None  # pipeline.assets.Asset when probe ran
    measurements: dict[str, Any] = field(default_factory=dict)  # checks add their JSON here
    # Programme start/end in seconds: after the line-up (bars, slate, head black) and before
    # the tail black, as the picture shows it; None for audio-only files.
    programme_s: tuple[float, float] | None = None
    # Programme start by timecode (profile `programme.start_timecode` minus the file's first
    # timecode), clipped to the file; None when the file has no timecode or the profile no
    # programme start. Everything before it is line-up, never programme.
    lineup_s: float | None = None
    lineup_head_s: float | None = None  # the same before clipping (negative: starts too late)


CheckFn = Callable[[Measured, Profile], list[Finding]]
EnabledFn = Callable[[Profile], bool]


@dataclass(frozen=True)
class Check:
    name: str
    domain: str  # "picture" or "sound": which part of the pass it needs
    func: CheckFn
    enabled: EnabledFn


_CHECKS: dict[str, Check] = {}


def qc_check(
    name: str, *, domain: str, enabled: EnabledFn | None = None
) -> Callable[[CheckFn], CheckFn]:
    """Register `func` as the check `name` (unique). `enabled(profile)` decides if it runs."""
    if domain not in ("picture", "sound"):
        raise ValueError(f"unknown check domain {domain!r}")

    def decorate(func: CheckFn) -> CheckFn:
        if name in _CHECKS and _CHECKS[name].func is not func:
            raise ValueError(f"a QC check named {name!r} is registered already")
        _CHECKS[name] = Check(name, domain, func, enabled or (lambda _p: True))
        return func

    return decorate


def registered() -> list[Check]:
    """Every registered check, in registration order (picture and sound modules loaded)."""
    import pipeline.qc.dialogue  # noqa: F401  (registers loudness.dialogue)
    import pipeline.qc.picture  # noqa: F401  (registers the picture checks)
    import pipeline.qc.sound  # noqa: F401  (registers the sound checks)

    return list(_CHECKS.values())


def checks_for(profile: Profile, *, domains: set[str]) -> list[Check]:
    """The checks this profile turns on, among the domains the file has."""
    return [c for c in registered() if c.domain in domains and c.enabled(profile)]
