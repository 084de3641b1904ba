"""Deliverables: PAD masters, web and platform versions, dailies; normalised, then QC'd."""
