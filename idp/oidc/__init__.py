"""The OpenID Connect protocol: Authlib's server behind a thin Starlette adapter."""
