"""Thai first, English second, for idp, push_auth and admin_ui alike: Babel message catalogs
(`catalogs`) and Thai conventions for dates, numbers and money (`formats`). Imports nothing of
the three packages, so each can use it within its import contract."""
