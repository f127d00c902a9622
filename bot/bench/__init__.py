"""The PR regression benchmark: run the reference models, compare two sides, report."""
