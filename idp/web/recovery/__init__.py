"""Recovering a forgotten password (manual chapter 4)."""
