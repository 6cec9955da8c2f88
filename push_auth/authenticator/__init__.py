"""The reference authenticator: a faithful software version of the phone app (library + CLI)."""
