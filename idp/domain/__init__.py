"""Domain services: synchronous, framework-free."""
