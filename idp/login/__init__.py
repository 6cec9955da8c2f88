"""Sign-in, free of any web framework: which factors make which assurance level, the sign-in
transaction, the SSO session, consent and signing out everywhere (issue #12)."""
