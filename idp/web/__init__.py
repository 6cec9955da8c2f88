"""The hosted pages and the HTTP surface: Starlette routes, templates, middleware."""
