"""Quality control: one decode pass, a registry of checks, findings against a profile."""
