"""Tests of bot/report/, one file per module; the shared scenario and helpers are in scenario.py."""
