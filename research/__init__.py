"""Experiments that chose the recipes (README.md); the product in bot/ never imports them."""
