"""The officers' REST API under /admin/api/v1 (the back office works only through it)."""
