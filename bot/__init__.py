"""maintbot: keeps open-source machine-learning projects healthy (triage, PR benchmarks, reports)."""

__version__ = "0.1.0"
