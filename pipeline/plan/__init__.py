"""Storage planning: codec data rates (data/codec_rates.yaml, each value with its source), the
size of a shoot per day, per destination and in total, and the energy and CO2e of keeping it."""
