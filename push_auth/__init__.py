"""Authenticator devices as a library (activation, certificates, push challenges).

Imports nothing of idp or admin_ui; the push authentication issue fills it in.
"""
