"""Sign-in and sessions (README, "Sign-in and sessions"): the authorization endpoint and
consent (authorize); the sign-in pages (login) that walk the steps — the password (password),
the choice of a second factor (choose_factor), push with its renewal pages (push), the forced
password change (password_change); what a page that needs a signed-in user asks (required);
and sign-out (logout). What a step is (idp.web.step) and the session's cookie
(idp.web.session_cookie) sit beside the context that holds them."""
