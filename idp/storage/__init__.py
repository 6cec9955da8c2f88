"""Durable (SQL) and expiring (memory or Redis) storage."""
