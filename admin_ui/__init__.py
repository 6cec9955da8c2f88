"""The CGD officers' back office, an OIDC relying party of idp (built in the back-office issue)."""
