"""maintbot keeps open-source ML projects healthy: issue triage, PR benchmarks, reports."""

__version__ = "0.1.0"
