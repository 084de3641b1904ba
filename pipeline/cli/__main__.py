"""`python -m pipeline.cli` runs the rushline CLI."""

from pipeline.cli import main

main()
