"""One module per metric; each function is pure and documents its definition."""
