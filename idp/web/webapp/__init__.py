"""The web authenticator at /app: an installable web app (manifest, service worker, offline
shell) that a phone's camera opens from the activation QR code. Its device key is a WebAuthn
credential (push_auth.webapp); these are the pages around it and its cancellation, which is the
account's (manual chapter 5), not the device API's."""
