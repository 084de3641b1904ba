"""Every exit code Rushline returns, in one place.

Commands share the low codes; offload and verify add one code per failure class, as the
reference `ascmhl` tool does, so a script can tell a full drive from a bad copy.
"""

from __future__ import annotations

from enum import IntEnum

OK = 0
FAILED = 1  # QC found a failure; probe could not read some files
ERROR = 2  # bad arguments, or a file could not be measured at all
INTERNAL = 70  # a bug in Rushline (EX_SOFTWARE); --debug shows the traceback
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class OffloadExit(IntEnum):
    """Offload failure classes; the value is the exit code."""

    SOURCE_READ = 10
    DEST_WRITE = 11
    MISMATCH = 12
    DEST_GONE = 13
    LOCKED = 14
    CONFLICT = 15
    SOURCE_HISTORY = 16


class VerifyExit(IntEnum):
    """Verify failure classes; the value is the exit code."""

    MISSING = 20
    ALTERED = 21
    NEW = 22
    NO_HISTORY = 23
    HISTORY_DAMAGED = 24
    UNREADABLE = 25


class ArchiveExit(IntEnum):
    """Archive (BagIt cold archive, verify, restore) failure classes; the value is the exit
    code."""

    BAD_NAME = 30  # the bag name or template breaks the naming scheme
    DEST_FULL = 31  # the destination (or a volume of a span) has no room
    MISMATCH = 32  # a copy read back differs from what was read from the source
    BAG_INVALID = 33  # the bag is malformed (no bagit.txt, unreadable manifest)
    ALTERED = 34  # verify: a payload or tag file's hash differs from its manifest
    MISSING = 35  # verify: a file in a manifest is absent
    EXTRA = 36  # verify: a payload file is in no manifest
    CONFLICT = 37  # restore/archive: a different file is already at the final name
