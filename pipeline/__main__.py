"""`python -m pipeline` runs the rushline CLI."""

from pipeline.cli import main

main()
