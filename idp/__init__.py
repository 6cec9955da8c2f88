"""Soft Token IdP: an OpenID Connect provider for the users of a government finance system."""
