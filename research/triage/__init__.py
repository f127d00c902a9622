"""The triage recipe search: the lab scripts of stages 1-20 and their shared helpers."""
