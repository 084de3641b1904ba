"""The production's memory: rolls, clips, hashes, verified copies, probe facts, QC verdicts,
rights applied, ratings and labels, in SQLite (WAL) by default or any SQLAlchemy URL.

db.py (where, engine, CatalogError), schema.py (tables), migrate.py (schema_version steps),
record.py (record_offload / record_probe / record_qc / record_rights / record_rating),
search.py (free text + field filters), importer.py (rebuild from ASC MHL histories),
export.py (ALE, CSV, OpenTimelineIO), timecode.py, facts.py and store.py (shared plumbing).
"""

from pipeline.catalog.db import CatalogError, open_catalog
from pipeline.catalog.importer import import_path
from pipeline.catalog.record import (
    record_offload,
    record_probe,
    record_qc,
    record_rating,
    record_rights,
)
from pipeline.catalog.search import search

__all__ = [
    "CatalogError",
    "import_path",
    "open_catalog",
    "record_offload",
    "record_probe",
    "record_qc",
    "record_rating",
    "record_rights",
    "search",
]
