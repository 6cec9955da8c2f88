"""Registering Soft Token (manual chapter 2): the wizard's overview and its steps — identity
with the assignment order (wizard, uploads), proofing at the upstream identity provider
(proofing), the email code and confirmation (wizard) — and activating the app (activation)."""
