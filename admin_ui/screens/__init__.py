"""The back office's screens, one module per area."""
