"""Photo room: ingest/rename, picks, RAW develop, export presets, integrity, sheets, portfolio.

Modules are imported where they are used (rawpy, Pillow and fpdf2 are heavy): `presets`,
`develop`, `icc`, `export`, `integrity`, `batch` for exports; `ingest`, `previews`, `picks`,
`sheets`, `portfolio`, `social` for the review side.
"""
