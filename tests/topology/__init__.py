"""The production topology on loopback, its parts failing in turn (issue #15)."""
