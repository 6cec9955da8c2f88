"""The web authenticator's server side: a phone's browser becomes the user's device with a
WebAuthn credential of its platform authenticator (Face ID, fingerprint, screen lock: the
manual's PIN and biometrics) instead of a PIN-protected key and a CSR.

`ceremony` checks every registration and assertion (py_webauthn); `device_key` activates,
approves, renews and authorizes with that credential. The device is recorded exactly like the
softtoken app's (one current device per user, a certificate from the internal CA for the
credential's key, the lifecycle's gates); polling and denials use the page's own non-extractable
WebCrypto key, the device API's polling key.
"""
