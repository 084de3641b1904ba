"""Verified multi-destination offload of a card (roll) with an ASC MHL history on every copy.

One read, many copies: each block of a source file is read once, hashed once (in every format
asked for) and written to every destination by one writer thread per destination, so the
slowest device sets the pace. Every copy is written as `.<name>.rushline-part`, fsynced,
verified, then renamed: a file under its final name is always complete and verified.

Verification levels
    size    the copy has the source's size (fast; trusts the devices)
    full    after fsync, the copy's cached pages are dropped (posix_fadvise DONTNEED, Linux
            drops clean pages) and the copy is re-read from the device and hashed
    source  `full`, plus a second, independent read of the source (cache dropped first) to
            catch a flaky card reader that returned bad bytes the first time

Failure classes and exit codes (when several happen, the first in this list wins)
    12 verification mismatch (a copy or the second source read differs)
    13 a destination disappeared (unplugged, unmounted) or does not exist
    11 a destination could not be written (full, read-only, permissions)
    10 a source file could not be read (unreadable, truncated or changed while reading)
    15 a different file already exists at a destination under the same name (never overwritten)
    16 the source does not match its own ASC MHL history
    14 another offload holds the lock of the same roll on a destination
     0 every file copied (or found identical) and verified on every destination

Small files (<= 1 MiB) are written in batches made durable by one syncfs(2) per destination
(one journal commit instead of one per file; a per-file fsync where syncfs fails) before they
are verified and renamed, so per-file cost stays low on cards with thousands of photos.

Each roll folder holds `_rushline/` (the lock `offload.lock` and `reports/`); the MHL ignore
list names it, so `ascmhl verify` and `rushline verify` do not see it as new files.

A copy is a regular file Rushline wrote: a symbolic link, a FIFO or a folder found where a file
or the roll folder goes is never read through nor replaced (15, per file). Two card files whose
names differ only by Unicode normalisation (NFC/NFD) are not copied (15, both named).

The package: models.py (records, failure classes), scan.py (template, card walk), dest.py
(argument checks before any write, lock, roll folder), engine.py (one read, N writers),
settle.py (verify, then the final name), manifest.py (ASC MHL), core.py (`offload`, `cascade`).

One destination failing never stops the others; one file failing never stops the next.
Re-running the same command finishes the job: files already present and identical are
verified and skipped (never copied again), missing ones are copied.
"""

from __future__ import annotations

from pipeline.offload.core import cascade, cascade_origin, offload
from pipeline.offload.dest import classify_write_error, part_path
from pipeline.offload.manifest import clean_state
from pipeline.offload.models import (
    DEFAULT_IGNORE,
    DEFAULT_TEMPLATE,
    PART_SUFFIX,
    STATE_DIR,
    CopyOutcome,
    DestinationResult,
    Failure,
    FileRecord,
    FileStatus,
    Notice,
    NoVerifiedCopyError,
    OffloadLockedError,
    OffloadResult,
    VerifyLevel,
    exit_code_for,
)
from pipeline.offload.scan import Scan, SourceFile, render_template, scan_source
from pipeline.offload.settle import SMALL_FILE

__all__ = [
    "DEFAULT_IGNORE",
    "DEFAULT_TEMPLATE",
    "PART_SUFFIX",
    "SMALL_FILE",
    "STATE_DIR",
    "CopyOutcome",
    "DestinationResult",
    "Failure",
    "FileRecord",
    "FileStatus",
    "NoVerifiedCopyError",
    "Notice",
    "OffloadLockedError",
    "OffloadResult",
    "Scan",
    "SourceFile",
    "VerifyLevel",
    "cascade",
    "cascade_origin",
    "classify_write_error",
    "clean_state",
    "exit_code_for",
    "offload",
    "part_path",
    "render_template",
    "scan_source",
]
