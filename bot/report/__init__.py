"""Contributor and community-health reports: collect records, compute metrics, render them."""
