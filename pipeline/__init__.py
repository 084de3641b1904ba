"""Rushline core: offload, probe, QC, rights, deliver and report. Never imports Prefect."""

__version__ = "0.1.0"
