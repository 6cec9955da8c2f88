"""Journeys: one user's life through the manual's chapters, in real headless Chromium."""
