"""Login by Token (manual chapter 0): a legacy GFMIS token-key user gets a one-time initial
password — the certificate the reverse proxy verified (certificate), then the page
(initial_password)."""
