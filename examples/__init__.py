"""Examples for maintainers: a model of your own that ``maintbot bench`` can train."""
